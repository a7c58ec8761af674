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
