// Search structures over the IQ2/IQ1 codebooks, derived from the grids the way ggml's
// iq2xs_init_impl derives them, so that quantizers built on them choose the same points.
//
// A group of 8 values is quantized to a level 0..2 per element; its "code" packs the levels,
// element i at bits 2i. Only codes that are grid points can be stored. For any other code the
// lattice lists the grid points at the few smallest squared level distances, ordered by
// (distance, grid index): the candidates a quantizer tries instead.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace qmix::iq2 {

enum class Codebook { kIq2xxs, kIq2xs, kIq2s, kIq1s };

class Lattice {
 public:
  using Levels = std::array<int8_t, 8>;

  // level_of_byte maps a grid byte to its level; `depth` is how many distinct distances the
  // neighbour lists cover (ggml: 2 for IQ2_XXS/XS, 1 for IQ2_S, 3 for IQ1).
  Lattice(std::span<const uint64_t> grid, int (*level_of_byte)(uint8_t), int depth);

  int size() const { return static_cast<int>(levels_.size()); }
  // Grid index of a code, or -1 when the code is not a grid point.
  int index_of(uint16_t code) const { return index_of_[code]; }
  // Candidates for an off-grid code whose levels are all 0..2 (empty for grid points).
  std::span<const uint16_t> neighbours(uint16_t code) const {
    return std::span<const uint16_t>(neighbours_)
        .subspan(begin_[code], static_cast<size_t>(begin_[code + 1u] - begin_[code]));
  }
  const Levels& levels(int index) const { return levels_[static_cast<size_t>(index)]; }

 private:
  void add_neighbours(uint16_t code, int depth);

  std::vector<Levels> levels_;
  std::vector<int16_t> index_of_;  // 65536 codes
  std::vector<uint32_t> begin_;    // 65537 offsets into neighbours_
  std::vector<uint16_t> neighbours_;
};

// Built once per codebook on first use (thread-safe), immutable afterwards.
const Lattice& lattice(Codebook book);

// Code of 8 levels (each 0..3).
inline uint16_t code_of(const int8_t* levels) {
  uint16_t u = 0;
  for (int i = 0; i < 8; ++i) u = static_cast<uint16_t>(u | (levels[i] << (2 * i)));
  return u;
}

}  // namespace qmix::iq2
