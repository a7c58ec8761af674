#include "tokenizer/unicode_nfc.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "tokenizer/unicode_nfc_tables.h"
#include "tokenizer/utf8.h"

namespace qmix {
namespace {

// Hangul syllable arithmetic (Unicode chapter 3.12).
constexpr char32_t kHangulBase = 0xAC00, kJamoL = 0x1100, kJamoV = 0x1161, kJamoT = 0x11A7;
constexpr char32_t kCountL = 19, kCountV = 21, kCountT = 28;
constexpr char32_t kCountN = kCountV * kCountT, kCountS = kCountL * kCountN;

// Everything below U+0300 is inert (the generator asserts it).
constexpr char32_t kFirstUnstable = 0x300;

bool is_inert(char32_t cp) {
  if (cp < kFirstUnstable) return true;
  std::span<const nfc::CodePointRange> ranges(nfc::kUnstableRanges, nfc::kUnstableRangesCount);
  auto it = std::upper_bound(ranges.begin(), ranges.end(), cp,
                             [](char32_t c, const nfc::CodePointRange& r) { return c < r.first; });
  return it == ranges.begin() || cp > std::prev(it)->last;
}

int combining_class(char32_t cp) {
  if (cp < kFirstUnstable) return 0;
  std::span<const nfc::CombiningClassRange> ranges(nfc::kCombiningClasses,
                                                   nfc::kCombiningClassesCount);
  auto it =
      std::upper_bound(ranges.begin(), ranges.end(), cp,
                       [](char32_t c, const nfc::CombiningClassRange& r) { return c < r.first; });
  if (it == ranges.begin() || cp > std::prev(it)->last) return 0;
  return std::prev(it)->combining_class;
}

void decompose(char32_t cp, std::vector<char32_t>& out) {
  if (cp >= kHangulBase && cp < kHangulBase + kCountS) {
    const char32_t s = cp - kHangulBase;
    out.push_back(kJamoL + s / kCountN);
    out.push_back(kJamoV + (s % kCountN) / kCountT);
    if (s % kCountT != 0) out.push_back(kJamoT + s % kCountT);
    return;
  }
  std::span<const nfc::Decomposition> table(nfc::kDecompositions, nfc::kDecompositionsCount);
  auto it =
      std::lower_bound(table.begin(), table.end(), cp,
                       [](const nfc::Decomposition& d, char32_t c) { return d.code_point < c; });
  if (it == table.end() || it->code_point != cp) {
    out.push_back(cp);
    return;
  }
  decompose(it->first, out);
  if (it->second != 0) decompose(it->second, out);
}

std::optional<char32_t> compose(char32_t first, char32_t second) {
  if (first >= kJamoL && first < kJamoL + kCountL && second >= kJamoV &&
      second < kJamoV + kCountV) {
    return kHangulBase + ((first - kJamoL) * kCountV + (second - kJamoV)) * kCountT;
  }
  if (first >= kHangulBase && first < kHangulBase + kCountS &&
      (first - kHangulBase) % kCountT == 0 && second > kJamoT && second < kJamoT + kCountT) {
    return first + (second - kJamoT);
  }
  std::span<const nfc::Composition> table(nfc::kCompositions, nfc::kCompositionsCount);
  auto it = std::lower_bound(table.begin(), table.end(), std::pair{first, second},
                             [](const nfc::Composition& c, std::pair<char32_t, char32_t> key) {
                               return std::pair<char32_t, char32_t>{c.first, c.second} < key;
                             });
  if (it == table.end() || it->first != first || it->second != second) return std::nullopt;
  return it->composite;
}

// Canonical ordering: a stable sort of each run of non-starters by combining class.
void reorder(std::vector<char32_t>& cps) {
  size_t i = 0;
  while (i < cps.size()) {
    if (combining_class(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < cps.size() && combining_class(cps[end]) != 0) ++end;
    std::stable_sort(cps.begin() + static_cast<std::ptrdiff_t>(i),
                     cps.begin() + static_cast<std::ptrdiff_t>(end), [](char32_t a, char32_t b) {
                       return combining_class(a) < combining_class(b);
                     });
    i = end;
  }
}

// Canonical composition: each character joins the last starter unless a character between
// them is a starter or has a combining class >= its own (it is "blocked").
void compose_all(const std::vector<char32_t>& cps, std::string& out) {
  std::vector<char32_t> result;
  result.reserve(cps.size());
  size_t starter = SIZE_MAX;
  int last_class = -1;  // class of the last character kept after the starter; -1: none
  for (char32_t cp : cps) {
    const int cls = combining_class(cp);
    if (starter != SIZE_MAX && (last_class == -1 || (last_class != 0 && last_class < cls))) {
      if (auto composite = compose(result[starter], cp)) {
        result[starter] = *composite;
        continue;
      }
    }
    if (cls == 0) {
      starter = result.size();
      last_class = -1;
    } else {
      last_class = cls;
    }
    result.push_back(cp);
  }
  for (char32_t cp : result) utf8::append(out, cp);
}

void normalize_segment(std::string_view segment, std::string& out) {
  std::vector<char32_t> cps;
  for (size_t pos = 0; pos < segment.size();) {
    const utf8::Decoded d = utf8::decode(segment, pos);
    decompose(d.code_point, cps);
    pos += static_cast<size_t>(d.length);
  }
  reorder(cps);
  compose_all(cps, out);
}

}  // namespace

std::string nfc_normalize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  // Text splits before every inert code point into segments that normalize independently;
  // segments made only of inert code points are copied as they are.
  size_t segment_start = 0;
  bool segment_unstable = false;
  const auto flush = [&](size_t end) {
    const std::string_view segment = text.substr(segment_start, end - segment_start);
    if (segment_unstable) {
      normalize_segment(segment, out);
    } else {
      out.append(segment);
    }
  };
  for (size_t pos = 0; pos < text.size();) {
    const uint8_t lead = static_cast<uint8_t>(text[pos]);
    if (lead < 0xCC) {  // U+0000..U+02FF: inert, one to two bytes
      if (segment_unstable) {
        flush(pos);
        segment_start = pos;
        segment_unstable = false;
      }
      pos += lead < 0x80 ? 1 : 2;
      continue;
    }
    const utf8::Decoded d = utf8::decode(text, pos);
    if (is_inert(d.code_point)) {
      flush(pos);
      segment_start = pos;
      segment_unstable = false;
    } else {
      segment_unstable = true;
    }
    pos += static_cast<size_t>(d.length);
  }
  flush(text.size());
  return out;
}

}  // namespace qmix
