// Calibration records from JSON Lines (one JSON object per line): chat/reasoning conversations
// rendered with a built-in chat renderer (chat_template.h), or plain text fields. Records are
// tokenized one by one and concatenated into one token stream.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace qmix {

enum class ChatTemplateChoice {
  kAuto,    // from the model's tokenizer.chat_template: Qwen3 or ChatML style, else an error
  kChatMl,  // ChatStyle::kChatMl
  kQwen3,   // ChatStyle::kQwen3
  kNone,    // no template: message texts as paragraphs
};
Expected<ChatTemplateChoice> parse_chat_template_choice(std::string_view text);

struct JsonlOptions {
  // The field of each record to use: a string (plain text) or an array of messages
  // ({"role", "content", "reasoning_content" | "reasoning"}). Empty: "messages" where the
  // record has it, else "text".
  std::string field{};
  ChatTemplateChoice chat_template = ChatTemplateChoice::kAuto;
  std::string model_chat_template{};  // the model's tokenizer.chat_template ("" if none)
};

// One record as the model reads it.
struct CalibrationRecord {
  std::string text;
  // Rendered by a chat template: the text of control tokens (<|im_start|>, …) is the token.
  bool template_tokens = false;
};

// Every non-blank line of `data` is one record. Plain-text records (and conversations with
// kNone) end in a blank line ("\n\n") so that records do not run into each other. Errors name
// `name` and the line number.
Expected<std::vector<CalibrationRecord>> parse_jsonl_records(std::string_view data,
                                                             std::string_view name,
                                                             const JsonlOptions& options);

// The records' tokens, concatenated; no BOS/EOS is added (chunking decides about BOS).
std::vector<int32_t> tokenize_records(const Tokenizer& tokenizer,
                                      std::span<const CalibrationRecord> records);

}  // namespace qmix
