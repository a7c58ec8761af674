#include "core/units.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace qmix {
namespace {

struct Unit {
  std::string_view suffix;
  double factor;
};

// Longest suffixes first so "GiB" is not read as "G" + junk.
constexpr Unit kUnits[] = {
    {"kib", 1024.0}, {"mib", 1048576.0}, {"gib", 1073741824.0}, {"tib", 1099511627776.0},
    {"kb", 1e3},     {"mb", 1e6},        {"gb", 1e9},           {"tb", 1e12},
    {"k", 1024.0},   {"m", 1048576.0},   {"g", 1073741824.0},   {"t", 1099511627776.0},
    {"b", 1.0},      {"", 1.0},
};

}  // namespace

Expected<uint64_t> parse_byte_size(std::string_view text) {
  std::string s;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c)))
      s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  char* end = nullptr;
  const double value = std::strtod(s.c_str(), &end);
  const std::string_view suffix(end, s.c_str() + s.size() - end);
  if (end == s.c_str() || !std::isfinite(value) || value < 0)
    return make_error(ErrorCode::kInvalidArgument, "'{}' is not a size (e.g. 24GiB, 512M)", text);
  for (const Unit& u : kUnits)
    if (suffix == u.suffix) {
      const double bytes = value * u.factor;
      if (bytes > 1.8e19) return make_error(ErrorCode::kOutOfRange, "size '{}' is too large", text);
      return static_cast<uint64_t>(bytes);
    }
  return make_error(ErrorCode::kInvalidArgument, "'{}': unknown unit (use KiB, MiB, GiB, GB …)",
                    text);
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
