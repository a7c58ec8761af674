// Pre-tokenization for byte-level BPE: the regular expressions (and normalization) that split
// text into words before merges, chosen by the GGUF key `tokenizer.ggml.pre`.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace qmix {

enum class Normalization { kNone, kNfc };

// What BPE does with a word that is itself a token: merge it like any other word, or take the
// token directly (Hugging Face's `ignore_merges`, set in Llama 3's tokenizer.json).
enum class WholeWordTokens { kMerge, kUseDirectly };

// One row of the pre-tokenizer table (pretokenizer.cpp). The patterns are applied in order:
// each splits every piece from the previous step into its matches and the text between them
// (Hugging Face's Split with behavior "Isolated"), so nothing is ever dropped.
struct PreTokenizerSpec {
  std::span<const std::string_view> names;  // values of tokenizer.ggml.pre
  std::span<const std::string_view> patterns;
  Normalization normalization = Normalization::kNone;
  WholeWordTokens whole_words = WholeWordTokens::kMerge;
};

std::span<const PreTokenizerSpec> pre_tokenizer_specs();
// The row whose names contain `name`; nullptr when unknown.
const PreTokenizerSpec* find_pre_tokenizer(std::string_view name);

// Per-call matching state (PCRE2 match data, JIT stack): one per encode() call, so a
// PreTokenizer can be shared by threads.
class PreTokenizerScratch {
 public:
  PreTokenizerScratch();
  ~PreTokenizerScratch();
  PreTokenizerScratch(const PreTokenizerScratch&) = delete;
  PreTokenizerScratch& operator=(const PreTokenizerScratch&) = delete;

 private:
  friend class PreTokenizer;
  struct State;
  std::unique_ptr<State> state_;
  std::vector<std::string_view> next_;
};

class PreTokenizer {
 public:
  // Compiles the spec's patterns (PCRE2, UTF + Unicode properties, JIT when available).
  static Expected<PreTokenizer> compile(const PreTokenizerSpec& spec);

  Normalization normalization() const { return normalization_; }
  // Splits `text` (valid UTF-8, already normalized) into words; the views point into `text`.
  void split(std::string_view text, PreTokenizerScratch& scratch,
             std::vector<std::string_view>& words) const;

 private:
  struct Regex;
  std::vector<std::shared_ptr<const Regex>> regexes_;
  Normalization normalization_ = Normalization::kNone;
};

}  // namespace qmix
