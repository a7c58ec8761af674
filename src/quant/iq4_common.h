// The 4-bit non-linear formats (iq4_nl: one scale per 32 values; iq4_xs: 6-bit sub-block
// scales under one half-precision scale per 256 values) share ggml's block fit
// (quantize_row_iq4_nl_impl), reproduced here operation for operation.
#pragma once

#include <cstdint>

#include "quant/block_layouts.h"
#include "quant/scale_fit.h"

namespace qmix::iq4 {

// Weights for one super-block of n values: imatrix * sqrt(sigma2 + x^2) with sigma2 =
// 2 * mean(x^2) over the super-block when qw is given, x^2 otherwise.
void block_weights(const float* x, const float* qw, float sigma2, int n, float* w);
float super_block_sigma2(const float* x, int n);

// Best scale d for 32 values: the largest magnitude at codebook entry -127 or +127 scales
// (the latter searched over 15 nearby scales), keeping the weighted least-squares optimum.
// Groups below ggml's epsilon give d = 0. The 16 candidates run in AVX2 lanes where `isa`
// says so (scale_fit_lanes.h), with the same result.
float fit_block(const float* x, const float* w,
                scale_fit::FitIsa isa = scale_fit::default_fit_isa());

// Codebook index of every value at inverse scale id.
void levels_at(const float* x, int n, float id, uint8_t* levels);

// The 6-bit scale of iq4_xs sub-block ib, minus its bias of 32.
inline int sub_block_scale(const layout::BlockIQ4XS& b, int ib) {
  const int low = (b.scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF;
  const int high = (b.scales_h >> (2 * ib)) & 3;
  return (low | high << 4) - 32;
}

}  // namespace qmix::iq4
