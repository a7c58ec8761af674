// UTF-8 helpers for the tokenizer: strict decoding (as PCRE2 validates it: no overlong forms,
// surrogates or code points above U+10FFFF), encoding, and repair of invalid input.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace qmix::utf8 {

inline constexpr char32_t kReplacementChar = 0xFFFD;

struct Decoded {
  char32_t code_point = kReplacementChar;
  int length = 1;  // bytes consumed; 1 for an invalid byte
  bool valid = false;
};

// Decodes the code point starting at text[pos] (pos < text.size()).
Decoded decode(std::string_view text, size_t pos);

// Appends the UTF-8 encoding of `cp` (which must be a valid scalar value).
void append(std::string& out, char32_t cp);

// Byte length of the valid prefix of `text` (== text.size() when all of it is valid).
size_t valid_prefix_length(std::string_view text);

// `text` with every invalid byte replaced by U+FFFD (what Python's errors="replace" does per
// byte); only called when valid_prefix_length() says the text needs it.
std::string repair(std::string_view text);

}  // namespace qmix::utf8
