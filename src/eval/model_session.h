// A model opened for evaluation: the mapped GGUF, its engine and its tokenizer, plus the
// text → tokens step every evaluation command shares.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "engine/engine.h"
#include "gguf/gguf_model.h"
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

enum class BosPolicy { kAuto, kAlways, kNever };
Expected<BosPolicy> parse_bos_policy(std::string_view text);  // "auto" | "yes" | "no"
// The token that replaces the first of every chunk, if any.
std::optional<int32_t> chunk_bos(const Tokenizer& tokenizer, BosPolicy policy);

}  // namespace qmix
