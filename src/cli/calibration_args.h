// The calibration-input options shared by `qmix imatrix collect` and `qmix perplexity`:
// --format text|jsonl, --field, --chat-template (docs/imatrix.md, "Calibration input").
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "eval/model_session.h"

namespace qmix::cli {

struct CalibrationArgs {
  std::string format = "text";
  std::string field;
  std::string chat_template = "auto";
};

void add_calibration_options(CLI::App* sub, CalibrationArgs& args);

// The tokens of `path` read as `args` says; plain text is tokenized with `text_encoding`.
Expected<std::vector<int32_t>> read_calibration_tokens(const CalibrationArgs& args,
                                                       const std::string& path,
                                                       const Tokenizer& tokenizer,
                                                       const GgufFile& metadata,
                                                       EncodeOptions text_encoding);

}  // namespace qmix::cli
