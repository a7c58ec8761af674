// Finds the text of special tokens in input text (leftmost, then longest, like Hugging Face's
// added-token matcher), so that it becomes the token rather than being tokenized as text.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace qmix {

// Which token types are matched in text.
enum class SpecialTokenSet {
  kUserDefined,  // user-defined (added) tokens only: always matched
  kAll,          // also control and unknown tokens (parse_special)
};

// A stretch of input: plain text to tokenize, or one special token.
struct TextFragment {
  std::string_view text;
  int32_t token = kNoToken;  // != kNoToken: the fragment is this token
};

class SpecialTokenMatcher {
 public:
  explicit SpecialTokenMatcher(const Vocab& vocab);

  // Splits `text` into fragments (appended to `out`).
  void split(std::string_view text, SpecialTokenSet set, const Vocab& vocab,
             std::vector<TextFragment>& out) const;

 private:
  // Candidate tokens by first byte, longest text first.
  std::array<std::vector<int32_t>, 256> by_first_byte_;
};

}  // namespace qmix
