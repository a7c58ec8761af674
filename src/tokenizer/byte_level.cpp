#include "tokenizer/byte_level.h"

#include "tokenizer/utf8.h"

namespace qmix {
namespace {

// Bytes that are printable Latin-1 stand for themselves; the other 68 take the code points
// from U+0100 upward in byte order.
bool stands_for_itself(int b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

constexpr char32_t kFirstShifted = 0x100;
constexpr char32_t kLastShifted = kFirstShifted + 68;

}  // namespace

ByteLevelAlphabet::ByteLevelAlphabet() {
  char32_t next = kFirstShifted;
  for (int b = 0; b < 256; ++b) {
    if (stands_for_itself(b)) {
      to_code_point_[static_cast<size_t>(b)] = static_cast<char32_t>(b);
    } else {
      shifted_to_byte_[next - kFirstShifted] = static_cast<uint8_t>(b);
      to_code_point_[static_cast<size_t>(b)] = next++;
    }
    utf8::append(encoded_[static_cast<size_t>(b)], to_code_point_[static_cast<size_t>(b)]);
  }
}

std::optional<std::string> ByteLevelAlphabet::decode(std::string_view token_text) const {
  std::string out;
  out.reserve(token_text.size());
  for (size_t pos = 0; pos < token_text.size();) {
    const utf8::Decoded d = utf8::decode(token_text, pos);
    if (!d.valid) return std::nullopt;
    const char32_t cp = d.code_point;
    if (cp < 0x100 && stands_for_itself(static_cast<int>(cp))) {
      out.push_back(static_cast<char>(cp));
    } else if (cp >= kFirstShifted && cp < kLastShifted) {
      out.push_back(static_cast<char>(shifted_to_byte_[cp - kFirstShifted]));
    } else {
      return std::nullopt;
    }
    pos += static_cast<size_t>(d.length);
  }
  return out;
}

}  // namespace qmix
