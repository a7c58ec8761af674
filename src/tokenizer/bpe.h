// Byte-level BPE (GPT-2 family): a word's bytes start as single-byte tokens and adjacent
// pairs are merged lowest merge rank first (leftmost among equal ranks) until no listed merge
// applies; a priority queue keeps this O(n log n) in the word length.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/vocab.h"

namespace qmix {

// Working memory for encode_word, reused across words of one encode() call.
struct BpeScratch {
  struct Symbol {
    int32_t token;
    int32_t prev, next;  // neighbours in the word; -1 at the ends
  };
  struct Candidate {
    int32_t rank;
    int32_t left;  // symbol index of the pair's left half
    int32_t left_token, right_token;
  };
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
};

class BpeModel {
 public:
  // Reads `tokenizer.ggml.merges` ("left right" in the byte-level alphabet) into a table of
  // (left id, right id) → (rank, merged id). Merges naming texts that are not tokens are
  // skipped, as no word could ever reach them.
  static Expected<BpeModel> build(const GgufFile& file, const Vocab& vocab,
                                  const ByteLevelAlphabet& alphabet, WholeWordTokens whole_words);

  // Appends the tokens of one pre-tokenized word, given as raw bytes.
  void encode_word(std::string_view word, BpeScratch& scratch, std::vector<int32_t>& out) const;

  size_t merge_count() const { return merge_count_; }

 private:
  // Open-addressing table slot (the lookup is the hot loop of encoding; a flat table keeps
  // each probe to one cache line).
  struct Slot {
    uint64_t key = kEmpty;  // (left id << 32) | right id
    int32_t rank = 0;
    int32_t result = 0;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }
  size_t slot_of(uint64_t key) const;
  void insert_merge(uint64_t key, int32_t rank, int32_t result);
  const Slot* find_merge(int32_t left, int32_t right) const;
  void push_candidate(int32_t left, BpeScratch& scratch) const;

  std::array<int32_t, 256> byte_token_{};  // token of each single byte; kNoToken if missing
  std::vector<Slot> slots_;                // size a power of two, at most half full
  // Raw bytes → normal token, filled only for WholeWordTokens::kUseDirectly.
  std::unordered_map<std::string, int32_t> whole_words_;
  size_t merge_count_ = 0;
};

}  // namespace qmix
