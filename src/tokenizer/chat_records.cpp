#include "tokenizer/chat_records.h"

#include <algorithm>
#include <array>
#include <optional>

#include <nlohmann/json.hpp>

namespace qmix {

namespace {

using Json = nlohmann::json;

constexpr std::array<std::string_view, 4> kRoles = {"system", "user", "assistant", "tool"};
constexpr std::string_view kPlainSeparator = "\n\n";

Error line_error(std::string_view name, int64_t line, std::string_view what) {
  return make_error(ErrorCode::kInvalidArgument, "{}: line {}: {}", name, line, what);
}

// content: a string, null/absent (empty), or an array of {"type": "text", "text": …} parts.
Expected<std::string> message_content(const Json& m, size_t index) {
  const auto it = m.find("content");
  if (it == m.end() || it->is_null()) return std::string();
  if (it->is_string()) return it->get<std::string>();
  if (!it->is_array())
    return make_error(ErrorCode::kInvalidArgument,
                      "message {}: content is neither a string nor a list of text parts", index);
  std::string text;
  for (const Json& part : *it) {
    const auto t = part.is_object() ? part.find("text") : part.end();
    if (!part.is_object() || t == part.end() || !t->is_string())
      return make_error(ErrorCode::kInvalidArgument,
                        "message {}: a content part without a string \"text\"", index);
    text += t->get<std::string>();
  }
  return text;
}

Expected<std::optional<std::string>> message_reasoning(const Json& m, size_t index) {
  for (const char* key : {"reasoning_content", "reasoning"}) {
    const auto it = m.find(key);
    if (it == m.end() || it->is_null()) continue;
    if (!it->is_string())
      return make_error(ErrorCode::kInvalidArgument, "message {}: {} is not a string", index, key);
    return std::optional<std::string>(it->get<std::string>());
  }
  return std::optional<std::string>();
}

Expected<ChatMessage> parse_message(const Json& m, size_t index) {
  if (!m.is_object())
    return make_error(ErrorCode::kInvalidArgument, "message {} is not an object", index);
  const auto role = m.find("role");
  if (role == m.end() || !role->is_string())
    return make_error(ErrorCode::kInvalidArgument, "message {} has no string \"role\"", index);
  ChatMessage out;
  out.role = role->get<std::string>();
  if (std::find(kRoles.begin(), kRoles.end(), out.role) == kRoles.end())
    return make_error(ErrorCode::kInvalidArgument,
                      "message {}: role '{}' is not system, user, assistant or tool", index,
                      out.role);
  if (const auto calls = m.find("tool_calls");
      calls != m.end() && !calls->is_null() && !calls->empty())
    return make_error(ErrorCode::kUnsupported, "message {}: tool_calls are not supported", index);
  QMIX_TRY_ASSIGN(out.content, message_content(m, index));
  QMIX_TRY_ASSIGN(out.reasoning, message_reasoning(m, index));
  return out;
}

Expected<std::vector<ChatMessage>> parse_messages(const Json& list) {
  std::vector<ChatMessage> messages;
  for (size_t i = 0; i < list.size(); ++i) {
    QMIX_TRY_ASSIGN(ChatMessage m, parse_message(list[i], i));
    messages.push_back(std::move(m));
  }
  if (messages.empty())
    return make_error(ErrorCode::kInvalidArgument, "the list of messages is empty");
  return messages;
}

// Without a template, each message's reasoning and content are paragraphs.
std::string plain_conversation(std::span<const ChatMessage> messages) {
  std::string out;
  for (const ChatMessage& m : messages)
    for (const std::string* part : {m.reasoning ? &*m.reasoning : nullptr, &m.content})
      if (part != nullptr && !part->empty()) {
        out += *part;
        out += kPlainSeparator;
      }
  return out;
}

// kAuto resolved from the model's template (kChatMl or kQwen3); other choices as they are.
Expected<ChatTemplateChoice> resolve_template(const JsonlOptions& o) {
  if (o.chat_template != ChatTemplateChoice::kAuto) return o.chat_template;
  if (o.model_chat_template.empty())
    return make_error(ErrorCode::kInvalidArgument,
                      "the model has no chat template to render conversations with; choose "
                      "--chat-template chatml, qwen3 or none");
  const auto style = chat_style_of_template(o.model_chat_template);
  if (!style)
    return make_error(ErrorCode::kUnsupported,
                      "the model's chat template is not ChatML-like (the built-in renderers); "
                      "choose --chat-template chatml, qwen3 or none");
  return *style == ChatStyle::kQwen3 ? ChatTemplateChoice::kQwen3 : ChatTemplateChoice::kChatMl;
}

class RecordParser {
 public:
  explicit RecordParser(const JsonlOptions& options) : options_(options) {}

  Expected<CalibrationRecord> parse(std::string_view line) {
    const Json record = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded()) return Error{ErrorCode::kInvalidArgument, "not valid JSON"};
    if (!record.is_object())
      return Error{ErrorCode::kInvalidArgument, "a record must be a JSON object"};
    const std::string field = field_of(record);
    const auto value = record.find(field);
    if (value == record.end())
      return make_error(
          ErrorCode::kInvalidArgument, "no \"{}\" field{}", field,
          options_.field.empty() ? " (nor \"messages\"; choose one with --field)" : "");
    if (value->is_string())
      return CalibrationRecord{value->get<std::string>() + std::string(kPlainSeparator), false};
    if (!value->is_array())
      return make_error(ErrorCode::kInvalidArgument,
                        "\"{}\" is neither a string nor a list of messages", field);
    QMIX_TRY_ASSIGN(const auto messages, parse_messages(*value));
    if (chat_template_ == ChatTemplateChoice::kAuto) {
      QMIX_TRY_ASSIGN(chat_template_, resolve_template(options_));
    }
    switch (chat_template_) {
      case ChatTemplateChoice::kQwen3:
        return CalibrationRecord{render_chat(messages, ChatStyle::kQwen3), true};
      case ChatTemplateChoice::kChatMl:
        return CalibrationRecord{render_chat(messages, ChatStyle::kChatMl), true};
      default:
        return CalibrationRecord{plain_conversation(messages), false};
    }
  }

 private:
  std::string field_of(const Json& record) const {
    if (!options_.field.empty()) return options_.field;
    return record.contains("messages") ? "messages" : "text";
  }

  const JsonlOptions& options_;
  // kAuto until the first conversation needs a template.
  ChatTemplateChoice chat_template_ = ChatTemplateChoice::kAuto;
};

}  // namespace

Expected<ChatTemplateChoice> parse_chat_template_choice(std::string_view text) {
  if (text == "auto") return ChatTemplateChoice::kAuto;
  if (text == "chatml") return ChatTemplateChoice::kChatMl;
  if (text == "qwen3") return ChatTemplateChoice::kQwen3;
  if (text == "none") return ChatTemplateChoice::kNone;
  return make_error(ErrorCode::kInvalidArgument,
                    "--chat-template must be auto, chatml, qwen3 or none (got '{}')", text);
}

Expected<std::vector<CalibrationRecord>> parse_jsonl_records(std::string_view data,
                                                             std::string_view name,
                                                             const JsonlOptions& options) {
  RecordParser parser(options);
  std::vector<CalibrationRecord> records;
  int64_t line_no = 0;
  while (!data.empty()) {
    ++line_no;
    const size_t nl = data.find('\n');
    std::string_view line = data.substr(0, nl);
    data = nl == std::string_view::npos ? std::string_view() : data.substr(nl + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    auto record = parser.parse(line);
    if (!record.ok()) return line_error(name, line_no, record.error().message);
    records.push_back(std::move(record).value());
  }
  if (records.empty()) return make_error(ErrorCode::kInvalidArgument, "{}: no JSON records", name);
  return records;
}

std::vector<int32_t> tokenize_records(const Tokenizer& tokenizer,
                                      std::span<const CalibrationRecord> records) {
  std::vector<int32_t> tokens;
  for (const CalibrationRecord& r : records) {
    const auto ids =
        tokenizer.encode(r.text, {.add_special = false, .parse_special = r.template_tokens});
    tokens.insert(tokens.end(), ids.begin(), ids.end());
  }
  return tokens;
}

}  // namespace qmix
