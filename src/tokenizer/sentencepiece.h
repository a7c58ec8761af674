// SentencePiece BPE as stored in GGUF (`tokenizer.ggml.model` = "llama"): text with spaces
// written as U+2581 starts as one symbol per code point; adjacent symbols whose concatenation
// is a token are merged highest score first (leftmost among equal scores); symbols that are
// not tokens fall back to their bytes as <0xXX> tokens.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "tokenizer/vocab.h"

namespace qmix {

struct SpmScratch {
  struct Symbol {
    uint32_t offset, length;  // bytes of the text; length 0 once merged into its left
    int32_t prev, next;
  };
  struct Candidate {
    float score;
    int32_t left, right;
    uint32_t length;  // combined length when queued: a mismatch later means it is stale
  };
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
};

class SentencePieceModel {
 public:
  // unknown: the id for bytes without a <0xXX> token (kNoToken: drop them).
  static SentencePieceModel build(const Vocab& vocab, int32_t unknown);

  // Splits escaped text into pieces that tokenize independently: before each U+2581 that
  // follows another character, when no token holds U+2581 after another character (true of
  // real SentencePiece vocabularies; otherwise the text stays whole). Merging then never
  // works on more than a word, and repeated words can be cached.
  void split_words(std::string_view text, std::vector<std::string_view>& words) const;

  // Appends the tokens of `text` (spaces already escaped, prefix already added).
  void encode(std::string_view text, const Vocab& vocab, SpmScratch& scratch,
              std::vector<int32_t>& out) const;

 private:
  void push_candidate(std::string_view text, const Vocab& vocab, int32_t left,
                      SpmScratch& scratch) const;

  std::array<int32_t, 256> byte_token_{};
  bool split_at_spaces_ = false;
};

// U+2581, the character SentencePiece writes for a space.
inline constexpr std::string_view kSpmSpace = "\xE2\x96\x81";

}  // namespace qmix
