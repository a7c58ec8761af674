// The fixed float summation order of the block dot products. Each block's integer dot
// product is exact; only the float accumulation can round differently. Fixing its order here
// (block b adds into partial sum b % 4, the partials combine as (p0 + p1) + (p2 + p3)) lets the
// SIMD kernels, which handle four blocks per step, return exactly the scalar result.
#pragma once

#include <cstdint>

namespace qmix {

inline constexpr int kDotLanes = 4;

struct DotLanes {
  float lane[kDotLanes] = {0, 0, 0, 0};
  float total() const { return (lane[0] + lane[1]) + (lane[2] + lane[3]); }
};

// contribution(b) -> float for every block b, added in the fixed order.
template <class Contribution>
float sum_block_contributions(int64_t nblocks, Contribution&& contribution) {
  DotLanes lanes;
  for (int64_t b = 0; b < nblocks; ++b) lanes.lane[b % kDotLanes] += contribution(b);
  return lanes.total();
}

}  // namespace qmix
