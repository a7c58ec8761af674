// Pieces shared by the IQ1_S and IQ1_M quantizers (ggml's quantize_row_iq1_*_impl): values of
// a sub-block are split into three ordered groups by an exhaustive search over the two
// boundaries in sorted order, then groups of 8 are moved onto the 2048-point grid.
#pragma once

#include <array>
#include <cstdint>

#include "quant/iq2_lattice.h"

namespace qmix::iq2 {

// Quantized values of the three levels for a positive (+1/8) or negative (-1/8) shift.
inline constexpr std::array<float, 3> kShiftPlus = {-1 + 0.125f, 0.125f, 1 + 0.125f};
inline constexpr std::array<float, 3> kShiftMinus = {-1 - 0.125f, -0.125f, 1 - 0.125f};

// Indices 0..n-1 ordered by ascending x (ties keep index order, as glibc's merge sort does
// for ggml's qsort).
void sort_indices(const float* x, int n, int* order);

// Largest |x| (ggml's MAX reduction).
float max_abs(const float* x, int n);

// Grid index for the levels of one group of 8 (x = the signed values): the grid point
// itself, or the neighbour with the smallest weighted error at `scale` with level values xg.
// Off-grid groups get their levels replaced; `on_grid` reports which case it was.
int place_iq1_group(const Lattice& lattice, const float* x, const float* weight, float scale,
                    const std::array<float, 3>& xg, int8_t* L, bool* on_grid);

}  // namespace qmix::iq2
