// Search structures over the IQ1/IQ2/IQ3 codebooks, derived from the grids the way ggml's
// iq2xs_init_impl / iq3xs_init_impl derive them, so that quantizers built on them choose the
// same points.
//
// A group of values (8 for IQ1/IQ2, 4 for IQ3) is quantized to a level per element; its "code"
// packs the levels (2 bits per element for IQ1/IQ2, 3 bits for IQ3), element i lowest. Only codes
// that are grid points can be stored. For any other code the lattice lists the grid points at the
// few smallest squared level distances, ordered by (distance, grid index): the candidates a
// quantizer tries instead.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace qmix::iq2 {

enum class Codebook { kIq2xxs, kIq2xs, kIq2s, kIq1s, kIq3xxs, kIq3s };

// How a code packs a group's levels.
struct LatticeShape {
  int group_size;  // elements per grid point: 8 or 4
  int level_bits;  // bits per element in a code: 2 or 3
};
inline constexpr LatticeShape kShape8x2{8, 2};  // IQ1, IQ2
inline constexpr LatticeShape kShape4x3{4, 3};  // IQ3

class Lattice {
 public:
  using Levels = std::array<int8_t, 8>;  // the first group_size entries are used

  // `points` are the grid points' levels in grid order; `depth` is how many distinct distances
  // the neighbour lists cover (ggml: 2 for IQ2_XXS/XS and IQ3_XXS, 1 for IQ2_S, 3 for IQ1, IQ3_S).
  Lattice(std::vector<Levels> points, LatticeShape shape, int depth);

  int size() const { return static_cast<int>(levels_.size()); }
  int group_size() const { return shape_.group_size; }
  int max_level() const { return max_level_; }  // highest level of any grid point
  // Code of group_size levels (each 0..2^level_bits-1).
  uint16_t code_of(const int8_t* levels) const;
  // Grid index of a code, or -1 when the code is not a grid point.
  int index_of(uint16_t code) const { return index_of_[code]; }
  // Candidates for an off-grid code whose levels are all <= max_level() (empty for grid points).
  std::span<const uint16_t> neighbours(uint16_t code) const {
    return std::span<const uint16_t>(neighbours_)
        .subspan(begin_[code], static_cast<size_t>(begin_[code + 1u] - begin_[code]));
  }
  // The codes of neighbours(code), in the same order (for scans over contiguous codes); the
  // storage behind the span stays readable kNeighbourCodePadding entries past its end.
  static constexpr size_t kNeighbourCodePadding = 16;
  std::span<const uint16_t> neighbour_codes(uint16_t code) const {
    return std::span<const uint16_t>(neighbour_codes_)
        .subspan(begin_[code], static_cast<size_t>(begin_[code + 1u] - begin_[code]));
  }
  const Levels& levels(int index) const { return levels_[static_cast<size_t>(index)]; }
  // The code of every grid point, in grid order.
  std::span<const uint16_t> point_codes() const { return point_codes_; }
  LatticeShape shape() const { return shape_; }

 private:
  bool levels_in_range(uint16_t code) const;
  void add_neighbours(uint16_t code, int depth);

  LatticeShape shape_;
  int max_level_ = 0;
  std::vector<Levels> levels_;
  std::vector<int16_t> index_of_;  // one per code
  std::vector<uint32_t> begin_;    // codes + 1 offsets into neighbours_
  std::vector<uint16_t> neighbours_;
  std::vector<uint16_t> neighbour_codes_;  // parallel to neighbours_
  std::vector<uint16_t> point_codes_;
};

// Built once per codebook on first use (thread-safe), immutable afterwards.
const Lattice& lattice(Codebook book);

// Code of 8 levels of 2 bits (IQ1/IQ2 groups).
inline uint16_t code_of(const int8_t* levels) {
  uint16_t u = 0;
  for (int i = 0; i < 8; ++i) u = static_cast<uint16_t>(u | (levels[i] << (2 * i)));
  return u;
}

}  // namespace qmix::iq2
