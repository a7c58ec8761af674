// AVX2 dot and dequantization of the ternary formats (tq1_0, tq2_0) from a SIMD decode of a
// block's 256 values t in {-1, 0, 1}. Include only from *_avx2.cpp files. Same results as the
// scalar kernels (exact integer sums, the scalar float steps).
#pragma once

#include "quant/avx2_common.h"
#include "quant/block_layouts.h"
#include "quant/block_sum.h"

namespace qmix::ternary_avx2 {

using layout::kQKK;

// decode(block, values) writes the 256 values in element order.
template <class Block, class Decode>
float dot_with_q8_k(const void* weights, const void* activations, int64_t n, Decode decode) {
  const Block* x = static_cast<const Block*>(weights);
  const auto* y = static_cast<const layout::BlockQ8K*>(activations);
  return sum_block_contributions(n / kQKK, [&](int64_t b) {
    alignas(32) int8_t values[kQKK];
    decode(x[b], values);
    __m256i acc = _mm256_setzero_si256();
    for (int j = 0; j < kQKK; j += 32)
      acc =
          _mm256_add_epi32(acc, simd::dot_i8(simd::load32(values + j), simd::load32(y[b].qs + j)));
    return static_cast<float>(simd::hsum_i32(acc)) * (simd::half_to_float(x[b].d) * y[b].d);
  });
}

template <class Block, class Decode>
void dequantize_row(const void* src, float* dst, int64_t n, Decode decode) {
  const Block* x = static_cast<const Block*>(src);
  alignas(32) int8_t values[kQKK];
  for (int64_t ib = 0; ib < n / kQKK; ++ib, dst += kQKK) {
    decode(x[ib], values);
    const float d = simd::half_to_float(x[ib].d);
    for (int j = 0; j < kQKK; j += 32) simd::store_scaled(simd::load32(values + j), d, dst + j);
  }
}

}  // namespace qmix::ternary_avx2
