// Shared by the ternary formats tq1_0 and tq2_0 (BitNet b1.58 / TriLM weights): x = d * t,
// t in {-1, 0, 1}, d = the block's largest magnitude; dot partner q8_K.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/fp16.h"
#include "quant/block_layouts.h"
#include "quant/block_sum.h"

namespace qmix::ternary {

using layout::kQKK;

// ggml's scale and its inverse (0 for an all-zero block).
inline float block_scale(const float* x, float* inverse) {
  float amax = 0;
  for (int j = 0; j < kQKK; ++j) amax = std::max(amax, std::fabs(x[j]));
  *inverse = amax != 0 ? 1.0f / amax : 0.0f;
  return amax;
}

// Trit (0, 1, 2 for -1, 0, 1) of x at inverse scale id, rounding half away from zero.
inline int trit(float x, float id) { return static_cast<int>(std::lround(x * id)) + 1; }

// Dot of blocks whose decode(block, values) yields 256 integer values (element order) with
// Q8_K activations: block b contributes (float)sum_int * (d_w * d_a).
template <class Block, class Decode>
float dot_with_q8_k(const void* weights, const void* activations, int64_t n, Decode decode) {
  const Block* x = static_cast<const Block*>(weights);
  const layout::BlockQ8K* y = static_cast<const layout::BlockQ8K*>(activations);
  return sum_block_contributions(n / kQKK, [&](int64_t b) {
    int8_t values[kQKK];
    decode(x[b], values);
    int32_t sum = 0;
    for (int j = 0; j < kQKK; ++j) sum += values[j] * y[b].qs[j];
    return static_cast<float>(sum) * (fp16_to_fp32(x[b].d) * y[b].d);
  });
}

template <class Block, class Decode>
void dequantize_row(const void* src, float* dst, int64_t n, Decode decode) {
  const Block* x = static_cast<const Block*>(src);
  int8_t values[kQKK];
  for (int64_t ib = 0; ib < n / kQKK; ++ib, dst += kQKK) {
    decode(x[ib], values);
    const float d = fp16_to_fp32(x[ib].d);
    for (int j = 0; j < kQKK; ++j) dst[j] = static_cast<float>(values[j]) * d;
  }
}

}  // namespace qmix::ternary
