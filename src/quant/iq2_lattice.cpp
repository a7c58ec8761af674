#include "quant/iq2_lattice.h"

#include <algorithm>

#include "core/error.h"
#include "quant/iq2_grids.h"
#include "quant/iq3_grids.h"

namespace qmix::iq2 {
namespace {

int iq2_level(uint8_t magnitude) {
  return magnitude == 0x08 ? 0 : magnitude == 0x19 ? 1 : magnitude == 0x2b ? 2 : -1;
}
int iq1_level(uint8_t value) { return static_cast<int8_t>(value) + 1; }

// Levels of the 8-byte IQ1/IQ2 grid entries.
std::vector<Lattice::Levels> levels_of_grid(std::span<const uint64_t> grid,
                                            int (*level_of_byte)(uint8_t)) {
  std::vector<Lattice::Levels> out(grid.size());
  for (size_t k = 0; k < grid.size(); ++k)
    for (int j = 0; j < 8; ++j) {
      const int level = level_of_byte(grid_byte(grid[k], j));
      QMIX_CHECK(level >= 0 && level <= 2);
      out[k][static_cast<size_t>(j)] = static_cast<int8_t>(level);
    }
  return out;
}

// Levels of IQ3 grid points from ggml's compact lists (3 bits per element).
std::vector<Lattice::Levels> levels_of_codes(std::span<const uint16_t> codes) {
  std::vector<Lattice::Levels> out(codes.size());
  for (size_t k = 0; k < codes.size(); ++k)
    for (int j = 0; j < 4; ++j)
      out[k][static_cast<size_t>(j)] = static_cast<int8_t>((codes[k] >> (3 * j)) & 7);
  return out;
}

}  // namespace

Lattice::Lattice(std::vector<Levels> points, LatticeShape shape, int depth)
    : shape_(shape), levels_(std::move(points)) {
  const size_t codes = size_t{1} << (shape.group_size * shape.level_bits);
  index_of_.assign(codes, -1);
  begin_.assign(codes + 1, 0);
  for (size_t k = 0; k < levels_.size(); ++k) {
    for (int j = 0; j < shape.group_size; ++j)
      max_level_ = std::max<int>(max_level_, levels_[k][static_cast<size_t>(j)]);
    point_codes_.push_back(code_of(levels_[k].data()));
    index_of_[point_codes_.back()] = static_cast<int16_t>(k);
  }
  for (size_t code = 0; code < codes; ++code) {
    begin_[code] = static_cast<uint32_t>(neighbours_.size());
    const auto u = static_cast<uint16_t>(code);
    // Quantizers clamp levels to 0..max_level, so other codes are never looked up.
    if (index_of_[u] < 0 && levels_in_range(u)) add_neighbours(u, depth);
  }
  begin_[codes] = static_cast<uint32_t>(neighbours_.size());
  for (const uint16_t k : neighbours_) neighbour_codes_.push_back(point_codes_[k]);
  neighbour_codes_.resize(neighbour_codes_.size() + kNeighbourCodePadding);
}

uint16_t Lattice::code_of(const int8_t* levels) const {
  uint32_t u = 0;
  for (int i = 0; i < shape_.group_size; ++i)
    u |= static_cast<uint32_t>(levels[i]) << (shape_.level_bits * i);
  return static_cast<uint16_t>(u);
}

bool Lattice::levels_in_range(uint16_t code) const {
  const int mask = (1 << shape_.level_bits) - 1;
  for (int i = 0; i < shape_.group_size; ++i)
    if (((code >> (shape_.level_bits * i)) & mask) > max_level_) return false;
  return true;
}

void Lattice::add_neighbours(uint16_t code, int depth) {
  const int mask = (1 << shape_.level_bits) - 1;
  std::vector<int> distance(levels_.size());
  for (size_t k = 0; k < levels_.size(); ++k) {
    int d2 = 0;
    for (int j = 0; j < shape_.group_size; ++j) {
      const int diff =
          levels_[k][static_cast<size_t>(j)] - ((code >> (shape_.level_bits * j)) & mask);
      d2 += diff * diff;
    }
    distance[k] = d2;
  }
  // Every point at the `depth` smallest distinct distances, by (distance, index).
  const int max_distance = shape_.group_size * max_level_ * max_level_;
  std::vector<bool> present(static_cast<size_t>(max_distance) + 1);
  for (const int d : distance) present[static_cast<size_t>(d)] = true;
  int taken = 0;
  for (int d = 0; d <= max_distance && taken < depth; ++d) {
    if (!present[static_cast<size_t>(d)]) continue;
    ++taken;
    for (size_t k = 0; k < levels_.size(); ++k)
      if (distance[k] == d) neighbours_.push_back(static_cast<uint16_t>(k));
  }
}

const Lattice& lattice(Codebook book) {
  switch (book) {
    case Codebook::kIq2xxs: {
      static const Lattice l(levels_of_grid(iq2xxs_grid, iq2_level), kShape8x2, 2);
      return l;
    }
    case Codebook::kIq2xs: {
      static const Lattice l(levels_of_grid(iq2xs_grid, iq2_level), kShape8x2, 2);
      return l;
    }
    case Codebook::kIq2s: {
      static const Lattice l(levels_of_grid(iq2s_grid, iq2_level), kShape8x2, 1);
      return l;
    }
    case Codebook::kIq1s: {
      static const Lattice l(levels_of_grid(iq1s_grid, iq1_level), kShape8x2, 3);
      return l;
    }
    case Codebook::kIq3xxs: {
      static const Lattice l(levels_of_codes(iq3::kIq3xxsCodes), kShape4x3, 2);
      return l;
    }
    case Codebook::kIq3s: {
      static const Lattice l(levels_of_codes(iq3::kIq3sCodes), kShape4x3, 3);
      return l;
    }
  }
  QMIX_CHECK(false);
  return lattice(Codebook::kIq2xxs);
}

}  // namespace qmix::iq2
