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

namespace qmix::ternary_avx2 {

// ggml's ternary quantization of one block in lanes, the same bytes as ternary::trit: the
// block's largest magnitude amax (returned; a max is exact in any order, and a NaN loses to
// the running max as with std::max) and the trits lround(x / amax) + 1 in element order,
// 32 per vector. |x * (1 / amax)| never exceeds 1.5 except when 1 / amax overflows (amax
// subnormal), where x * id is inf or NaN and lround's out-of-range result truncates to 0
// (trit 1); so lround is exactly (v >= 0.5) - (v <= -0.5), or 0 when !(|v| < 1.5).
inline float block_trits(const float* x, __m256i trits[kQKK / 32]) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  for (int j = 0; j < kQKK; j += 8)
    m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)), m);
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_movehdup_ps(h));
  const float amax = _mm_cvtss_f32(h);
  const __m256 id = _mm256_set1_ps(amax != 0 ? 1.0f / amax : 0.0f);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int j = 0; j < kQKK / 32; ++j) {
    __m256i t[4];
    for (int k = 0; k < 4; ++k) {
      const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + 32 * j + 8 * k), id);
      const __m256 in_range =
          _mm256_cmp_ps(_mm256_andnot_ps(sign, v), _mm256_set1_ps(1.5f), _CMP_LT_OQ);
      const __m256 up = _mm256_and_ps(in_range, _mm256_cmp_ps(v, _mm256_set1_ps(0.5f), _CMP_GE_OQ));
      const __m256 down =
          _mm256_and_ps(in_range, _mm256_cmp_ps(v, _mm256_set1_ps(-0.5f), _CMP_LE_OQ));
      // Masks are -1 where set: trit = 1 - up + down.
      t[k] = _mm256_sub_epi32(_mm256_add_epi32(_mm256_set1_epi32(1), _mm256_castps_si256(down)),
                              _mm256_castps_si256(up));
    }
    const __m256i packed =
        _mm256_packs_epi16(_mm256_packs_epi32(t[0], t[1]), _mm256_packs_epi32(t[2], t[3]));
    trits[j] = _mm256_permutevar8x32_epi32(packed, order);
  }
  return amax;
}

}  // namespace qmix::ternary_avx2
