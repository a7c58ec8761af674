// general.name and general.size_label as llama.cpp's gguf-py derives them.
#include <cctype>
#include <cmath>

#include <fmt/format.h>

#include "convert/converter.h"

namespace qmix {
namespace {

// Python's str.islower(): some cased character and no uppercase one.
bool is_lower(std::string_view w) {
  bool cased = false;
  for (unsigned char c : w) {
    if (std::isupper(c)) return false;
    cased = cased || std::islower(c);
  }
  return cased;
}

// Python's str.title() for ASCII: a letter is capitalised when it follows a non-letter.
std::string title_case(std::string_view w) {
  std::string out;
  bool after_letter = false;
  for (unsigned char c : w) {
    const bool letter = std::isalpha(c) != 0;
    out += static_cast<char>(letter ? (after_letter ? std::tolower(c) : std::toupper(c)) : c);
    after_letter = letter;
  }
  return out;
}

// Python's format(x, ".{fix}f") of round-half-even digits: count the digits of round(x).
std::string rounded_notation(uint64_t count) {
  constexpr std::pair<double, char> kScales[] = {{1e12, 'T'}, {1e9, 'B'}, {1e6, 'M'}};
  double scaled = static_cast<double>(count) * 1e-3;
  char suffix = 'K';
  for (const auto& [scale, s] : kScales)
    if (static_cast<double>(count) > scale) {
      scaled = static_cast<double>(count) * (1.0 / scale);
      suffix = s;
      break;
    }
  const std::string whole = fmt::format("{}", static_cast<uint64_t>(std::nearbyint(scaled)));
  const size_t significant = whole == "0" ? 0 : whole.size();
  const int fix = std::max(2 - static_cast<int>(significant), 0);
  return fmt::format("{:.{}f}{}", scaled, fix, suffix);
}

// gguf-py keeps these words as written: `v\d+(\.\d+)*` or anything starting with a digit.
// (Hand-written: GCC's <regex> breaks the -Werror sanitizer build.)
bool is_version_like(std::string_view w) {
  auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  if (!w.empty() && digit(w[0])) return true;
  if (w.size() < 2 || w[0] != 'v') return false;
  bool need_digit = true;
  for (char c : w.substr(1)) {
    if (digit(c)) {
      need_digit = false;
    } else if (c == '.' && !need_digit) {
      need_digit = true;
    } else {
      return false;
    }
  }
  return !need_digit;
}

}  // namespace

std::string model_name_from_directory(std::string_view directory_name) {
  std::string name;
  std::string word;
  auto flush = [&] {
    if (word.empty()) return;
    const bool keep = !is_lower(word) || is_version_like(word);
    if (!name.empty()) name += ' ';
    name += keep ? word : title_case(word);
    word.clear();
  };
  for (char c : directory_name) {
    if (c == '-' || std::isspace(static_cast<unsigned char>(c)))
      flush();
    else
      word += c;
  }
  flush();
  return name;
}

std::string size_label(uint64_t total_params, uint64_t shared_params, uint64_t expert_params,
                       uint64_t expert_count) {
  if (expert_count > 0)
    return fmt::format("{}x{}", expert_count, rounded_notation(shared_params + expert_params));
  return rounded_notation(total_params);
}

}  // namespace qmix
