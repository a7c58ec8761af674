#include "cli/calibration_args.h"

namespace qmix::cli {

void add_calibration_options(CLI::App* sub, CalibrationArgs& args) {
  sub->add_option("--format", args.format,
                  "text, or jsonl: one JSON record per line (chat messages or a text field)")
      ->capture_default_str();
  sub->add_option(
      "--field", args.field,
      "JSONL field holding a text or a list of messages (default: messages, else text)");
  sub->add_option("--chat-template", args.chat_template,
                  "auto (from the model's template), chatml, qwen3 or none")
      ->capture_default_str();
}

Expected<std::vector<int32_t>> read_calibration_tokens(const CalibrationArgs& args,
                                                       const std::string& path,
                                                       const Tokenizer& tokenizer,
                                                       const GgufFile& metadata,
                                                       EncodeOptions text_encoding) {
  CalibrationInput input;
  if (args.format == "text" && (!args.field.empty() || args.chat_template != "auto"))
    return make_error(ErrorCode::kInvalidArgument,
                      "--field and --chat-template apply to --format jsonl only");
  QMIX_TRY_ASSIGN(input.format, parse_calibration_format(args.format));
  QMIX_TRY_ASSIGN(input.jsonl.chat_template, parse_chat_template_choice(args.chat_template));
  input.jsonl.field = args.field;
  input.text_encoding = text_encoding;
  auto tokens = tokenize_calibration_file(tokenizer, metadata, path, input);
  if (!tokens.ok() && tokens.error().message.find(path) == std::string::npos)
    return tokens.error().with_context(path);
  return tokens;
}

}  // namespace qmix::cli
