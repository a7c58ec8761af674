#include "tokenizer/chat_template.h"

namespace qmix {

namespace {

constexpr std::string_view kImStart = "<|im_start|>";
constexpr std::string_view kImEnd = "<|im_end|>";
constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";
constexpr std::string_view kToolResponseOpen = "<tool_response>";
constexpr std::string_view kToolResponseClose = "</tool_response>";

// Python's str.lstrip('\n') / rstrip('\n') / strip('\n'), which the templates use.
std::string_view lstrip_newlines(std::string_view s) {
  while (!s.empty() && s.front() == '\n') s.remove_prefix(1);
  return s;
}
std::string_view rstrip_newlines(std::string_view s) {
  while (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  return s;
}
std::string_view strip_newlines(std::string_view s) { return lstrip_newlines(rstrip_newlines(s)); }

void append_turn_start(std::string& out, std::string_view role) {
  out += kImStart;
  out += role;
  out += '\n';
}

void append_think(std::string& out, std::string_view reasoning, std::string_view content) {
  out += kThinkOpen;
  out += '\n';
  out += strip_newlines(reasoning);
  out += '\n';
  out += kThinkClose;
  out += "\n\n";
  out += lstrip_newlines(content);
}

struct AssistantParts {
  std::string_view reasoning, content;
};

// Qwen3: explicit reasoning wins; otherwise "…<think>R</think>C" in the content is split into
// R (before the first </think>, after the last <think>) and C (after the last </think>).
AssistantParts split_reasoning(const ChatMessage& m) {
  const std::string_view content = m.content;
  if (m.reasoning) return {*m.reasoning, content};
  const size_t first_close = content.find(kThinkClose);
  if (first_close == std::string_view::npos) return {{}, content};
  std::string_view reasoning = rstrip_newlines(content.substr(0, first_close));
  if (const size_t open = reasoning.rfind(kThinkOpen); open != std::string_view::npos)
    reasoning = reasoning.substr(open + kThinkOpen.size());
  const size_t last_close = content.rfind(kThinkClose);
  return {lstrip_newlines(reasoning),
          lstrip_newlines(content.substr(last_close + kThinkClose.size()))};
}

bool is_tool_response(std::string_view content) {
  return content.starts_with(kToolResponseOpen) && content.ends_with(kToolResponseClose);
}

// The last user message that is a real query (not a wrapped tool result); messages.size() - 1
// when there is none, as the template's namespace default.
size_t last_query_index(std::span<const ChatMessage> messages) {
  for (size_t i = messages.size(); i-- > 0;)
    if (messages[i].role == "user" && !is_tool_response(messages[i].content)) return i;
  return messages.size() - 1;
}

void render_qwen3_assistant(std::string& out, std::span<const ChatMessage> messages, size_t i,
                            size_t last_query) {
  const AssistantParts parts = split_reasoning(messages[i]);
  const bool last = i + 1 == messages.size();
  append_turn_start(out, "assistant");
  if (i > last_query && (last || !parts.reasoning.empty()))
    append_think(out, parts.reasoning, parts.content);
  else
    out += parts.content;
  out += kImEnd;
  out += '\n';
}

// Consecutive tool messages share one user turn.
void render_qwen3_tool(std::string& out, std::span<const ChatMessage> messages, size_t i) {
  if (i == 0 || messages[i - 1].role != "tool") out += std::string(kImStart) + "user";
  out += '\n';
  out += kToolResponseOpen;
  out += '\n';
  out += messages[i].content;
  out += '\n';
  out += kToolResponseClose;
  if (i + 1 == messages.size() || messages[i + 1].role != "tool") {
    out += kImEnd;
    out += '\n';
  }
}

std::string render_qwen3(std::span<const ChatMessage> messages) {
  std::string out;
  if (messages.empty()) return out;
  const size_t last_query = last_query_index(messages);
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "user" || m.role == "system") {
      append_turn_start(out, m.role);
      out += m.content;
      out += kImEnd;
      out += '\n';
    } else if (m.role == "assistant") {
      render_qwen3_assistant(out, messages, i, last_query);
    } else if (m.role == "tool") {
      render_qwen3_tool(out, messages, i);
    }
  }
  return out;
}

std::string render_chatml(std::span<const ChatMessage> messages) {
  std::string out;
  for (const ChatMessage& m : messages) {
    append_turn_start(out, m.role);
    if (m.reasoning && !m.reasoning->empty())
      append_think(out, *m.reasoning, m.content);
    else
      out += m.content;
    out += kImEnd;
    out += '\n';
  }
  return out;
}

}  // namespace

std::optional<ChatStyle> chat_style_of_template(std::string_view jinja) {
  if (jinja.find(kImStart) == std::string_view::npos ||
      jinja.find(kImEnd) == std::string_view::npos)
    return std::nullopt;
  if (jinja.find(kThinkOpen) != std::string_view::npos ||
      jinja.find("reasoning_content") != std::string_view::npos)
    return ChatStyle::kQwen3;
  return ChatStyle::kChatMl;
}

std::string render_chat(std::span<const ChatMessage> messages, ChatStyle style) {
  switch (style) {
    case ChatStyle::kQwen3:
      return render_qwen3(messages);
    case ChatStyle::kChatMl:
      return render_chatml(messages);
  }
  return {};
}

}  // namespace qmix
