// Pieces shared by the lane kernels of iq2_scan.h (no ISA-specific code here).
#pragma once

#include <cfloat>
#include <climits>
#include <cstdint>
#include <span>

#include "quant/iq2_scan.h"

namespace qmix::iq2::lanes {

// A candidate position no lane has taken yet (never a real position).
inline constexpr int32_t kNoPosition = INT32_MAX;

// The 32-entry term table of ggml's neighbour search (nearest_candidate_*): entry stride*j + l
// is element j's term at level l (stride 4 for groups of 8, 8 for groups of 4), kept in
// registers of kWidth lanes. For each entry: which element, and its q = 2 l + 1.
template <int kStride, int kWidth>
struct TermTableLayout {
  alignas(64) int32_t element[32 / kWidth][kWidth];
  alignas(64) float q[32 / kWidth][kWidth];
  constexpr TermTableLayout() : element{}, q{} {
    for (int i = 0; i < 32; ++i) {
      element[i / kWidth][i % kWidth] = i / kStride;
      q[i / kWidth][i % kWidth] = static_cast<float>(2 * (i % kStride) + 1);
    }
  }
};

// The first smallest value over lanes that each kept their first smallest (strictly below
// FLT_MAX): the smallest value, ties to the smallest position; none taken means position 0.
inline void reduce(const float* value, const int32_t* position, int width, int& out_position,
                   float& out_value) {
  float best = FLT_MAX;
  int32_t at = kNoPosition;
  for (int i = 0; i < width; ++i)
    if (value[i] < best || (value[i] == best && position[i] < at)) {
      best = value[i];
      at = position[i];
    }
  out_position = at == kNoPosition ? 0 : at;
  out_value = best;
}

}  // namespace qmix::iq2::lanes
