// GPT-2's byte-level alphabet: every byte is shown as one printable code point, so byte-level
// BPE vocabularies store token texts as ordinary strings ("Ġthe" for " the").
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace qmix {

class ByteLevelAlphabet {
 public:
  ByteLevelAlphabet();
  // The code point standing for `byte`.
  char32_t code_point(uint8_t byte) const { return to_code_point_[byte]; }
  // UTF-8 of the code point standing for `byte`.
  std::string_view encoded(uint8_t byte) const { return encoded_[byte]; }
  // Raw bytes of a token text written in the alphabet; nullopt when it holds other characters.
  std::optional<std::string> decode(std::string_view token_text) const;

 private:
  std::array<char32_t, 256> to_code_point_{};
  std::array<std::string, 256> encoded_;
  std::array<uint8_t, 68> shifted_to_byte_{};  // code point U+0100 + i stands for this byte
};

}  // namespace qmix
