#include "quant/iq2_lattice.h"

#include "core/error.h"
#include "quant/iq2_grids.h"

namespace qmix::iq2 {
namespace {

constexpr int kCodes = 1 << 16;
constexpr int kMaxDistance = 8 * 2 * 2;  // levels differ by at most 2 in each of 8 elements

int iq2_level(uint8_t magnitude) {
  return magnitude == 0x08 ? 0 : magnitude == 0x19 ? 1 : magnitude == 0x2b ? 2 : -1;
}
int iq1_level(uint8_t value) { return static_cast<int8_t>(value) + 1; }

bool levels_below_3(uint16_t code) {
  for (int i = 0; i < 8; ++i)
    if (((code >> (2 * i)) & 3) == 3) return false;
  return true;
}

}  // namespace

Lattice::Lattice(std::span<const uint64_t> grid, int (*level_of_byte)(uint8_t), int depth)
    : levels_(grid.size()), index_of_(kCodes, -1), begin_(kCodes + 1, 0) {
  for (size_t k = 0; k < grid.size(); ++k) {
    for (int j = 0; j < 8; ++j) {
      const int level = level_of_byte(grid_byte(grid[k], j));
      QMIX_CHECK(level >= 0 && level <= 2);
      levels_[k][static_cast<size_t>(j)] = static_cast<int8_t>(level);
    }
    index_of_[code_of(levels_[k].data())] = static_cast<int16_t>(k);
  }
  for (int code = 0; code < kCodes; ++code) {
    begin_[static_cast<size_t>(code)] = static_cast<uint32_t>(neighbours_.size());
    const auto u = static_cast<uint16_t>(code);
    // Quantizers clamp levels to 0..2, so codes containing a 3 are never looked up.
    if (index_of_[u] < 0 && levels_below_3(u)) add_neighbours(u, depth);
  }
  begin_[kCodes] = static_cast<uint32_t>(neighbours_.size());
}

void Lattice::add_neighbours(uint16_t code, int depth) {
  std::vector<uint8_t> distance(levels_.size());
  std::array<bool, kMaxDistance + 1> present{};
  for (size_t k = 0; k < levels_.size(); ++k) {
    int d2 = 0;
    for (int j = 0; j < 8; ++j) {
      const int diff = levels_[k][static_cast<size_t>(j)] - ((code >> (2 * j)) & 3);
      d2 += diff * diff;
    }
    distance[k] = static_cast<uint8_t>(d2);
    present[static_cast<size_t>(d2)] = true;
  }
  // Every point at the `depth` smallest distinct distances, by (distance, index).
  int taken = 0;
  for (int d = 0; d <= kMaxDistance && taken < depth; ++d) {
    if (!present[static_cast<size_t>(d)]) continue;
    ++taken;
    for (size_t k = 0; k < levels_.size(); ++k)
      if (distance[k] == d) neighbours_.push_back(static_cast<uint16_t>(k));
  }
}

const Lattice& lattice(Codebook book) {
  switch (book) {
    case Codebook::kIq2xxs: {
      static const Lattice l(iq2xxs_grid, iq2_level, 2);
      return l;
    }
    case Codebook::kIq2xs: {
      static const Lattice l(iq2xs_grid, iq2_level, 2);
      return l;
    }
    case Codebook::kIq2s: {
      static const Lattice l(iq2s_grid, iq2_level, 1);
      return l;
    }
    case Codebook::kIq1s: {
      static const Lattice l(iq1s_grid, iq1_level, 3);
      return l;
    }
  }
  QMIX_CHECK(false);
  return lattice(Codebook::kIq2xxs);
}

}  // namespace qmix::iq2
