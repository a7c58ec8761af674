// Built-in chat renderers for calibration data: ChatML and Qwen3's variant of it (reasoning in
// <think>…</think>). There is no Jinja engine: a model's `tokenizer.chat_template` is only
// inspected to tell which of these renderers writes what it would write.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace qmix {

enum class ChatStyle {
  // <|im_start|>ROLE\nCONTENT<|im_end|>\n per message; an assistant message with reasoning
  // gets it as "<think>\nREASONING\n</think>\n\n" before its content (Qwen3's layout).
  kChatMl,
  // Qwen3's template (add_generation_prompt false, no tools): reasoning is kept only for
  // assistant turns after the last user query, the final assistant turn always gets a (possibly
  // empty) think block, "<think>…</think>" inside content is split out, and consecutive tool
  // results are wrapped in one user turn as <tool_response> blocks.
  kQwen3,
};

struct ChatMessage {
  std::string role;  // system, user, assistant or tool
  std::string content;
  std::optional<std::string> reasoning;  // "reasoning_content": the assistant's thinking
};

// The renderer that matches a chat template: Qwen3's when it is ChatML with think blocks,
// ChatML when it uses <|im_start|>/<|im_end|>, nothing for any other template.
std::optional<ChatStyle> chat_style_of_template(std::string_view jinja);

std::string render_chat(std::span<const ChatMessage> messages, ChatStyle style);

}  // namespace qmix
