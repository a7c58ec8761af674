// A model opened for evaluation: the mapped GGUF, its engine and its tokenizer, plus the
// text → tokens step every evaluation command shares.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "engine/engine.h"
#include "gguf/gguf_model.h"
#include "tokenizer/chat_records.h"
#include "tokenizer/tokenizer.h"

namespace qmix {

struct LoadedModel {
  std::unique_ptr<GgufModel> file;  // owned on the heap: the engine keeps views into it
  std::unique_ptr<Engine> engine;
  std::unique_ptr<Tokenizer> tokenizer;
  uint64_t weight_bytes = 0, weight_count = 0;

  double bits_per_weight() const {
    return weight_count
               ? 8.0 * static_cast<double>(weight_bytes) / static_cast<double>(weight_count)
               : 0.0;
  }
};

Expected<LoadedModel> load_model(const std::filesystem::path& path, const EngineOptions& options);

// The whole file tokenized without special tokens (llama-perplexity's way).
Expected<std::vector<int32_t>> tokenize_text_file(const Tokenizer& tokenizer,
                                                  const std::filesystem::path& path);

// Calibration/evaluation input: plain text, or JSON Lines records (chat_records.h).
enum class CalibrationFormat { kText, kJsonl };
Expected<CalibrationFormat> parse_calibration_format(std::string_view text);  // "text" | "jsonl"

struct CalibrationInput {
  CalibrationFormat format = CalibrationFormat::kText;
  // How plain text is tokenized (llama-perplexity adds nothing, llama-imatrix adds BOS).
  EncodeOptions text_encoding{.add_special = false, .parse_special = false};
  JsonlOptions jsonl;  // its model_chat_template is taken from the model's metadata
};

// The file's tokens: the text tokenized, or the JSONL records rendered and tokenized one by one.
Expected<std::vector<int32_t>> tokenize_calibration_file(const Tokenizer& tokenizer,
                                                         const GgufFile& metadata,
                                                         const std::filesystem::path& path,
                                                         CalibrationInput input);

enum class BosPolicy { kAuto, kAlways, kNever };
Expected<BosPolicy> parse_bos_policy(std::string_view text);  // "auto" | "yes" | "no"
// The token that replaces the first of every chunk, if any.
std::optional<int32_t> chunk_bos(const Tokenizer& tokenizer, BosPolicy policy);

}  // namespace qmix
