#include "core/byte_size.h"

#include <array>
#include <charconv>
#include <cmath>
#include <utility>

namespace qmix {
namespace {

// Longest suffixes first so that "KiB" is not read as "K" + junk.
constexpr std::array<std::pair<std::string_view, double>, 13> kSuffixes = {{
    {"KiB", 1024.0},
    {"MiB", 1024.0 * 1024},
    {"GiB", 1024.0 * 1024 * 1024},
    {"TiB", 1024.0 * 1024 * 1024 * 1024},
    {"KB", 1e3},
    {"MB", 1e6},
    {"GB", 1e9},
    {"TB", 1e12},
    {"K", 1e3},
    {"M", 1e6},
    {"G", 1e9},
    {"T", 1e12},
    {"B", 1.0},
}};

}  // namespace

Expected<uint64_t> parse_byte_size(std::string_view text) {
  std::string_view number = text;
  double scale = 1.0;
  for (const auto& [suffix, factor] : kSuffixes)
    if (number.ends_with(suffix)) {
      number.remove_suffix(suffix.size());
      scale = factor;
      break;
    }
  double value = 0;
  const auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  const double bytes = std::round(value * scale);
  // 2^64 itself does not fit; anything at or above it is out of range.
  if (number.empty() || ec != std::errc() || ptr != number.data() + number.size() ||
      !std::isfinite(bytes) || bytes < 0 || bytes >= 18446744073709551616.0)
    return make_error(ErrorCode::kInvalidArgument,
                      "'{}' is not a size (examples: 4096, 500M, 1.5G, 2GiB)", text);
  return static_cast<uint64_t>(bytes);
}

std::string format_bytes(uint64_t bytes) {
  constexpr const char* kNames[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int i = 0;
  while (v >= 1024.0 && i < 4) {
    v /= 1024.0;
    ++i;
  }
  return i == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.2f} {}", v, kNames[i]);
}

}  // namespace qmix
