// q8_0 with AVX2: activation quantization, dequantization and dot (same results as scalar).
#include "quant/kernels.h"
#include "quant/legacy_avx2.h"

namespace qmix::legacy_avx2 {
namespace {

float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// std::round for |v| < 2^23: truncate, then step away from zero when the dropped fraction is
// at least one half (the fraction is exact).
__m256 round_half_away(__m256 v) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
  const __m256 away = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
  const __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
  return _mm256_add_ps(t, _mm256_and_ps(up, away));
}

}  // namespace

float quantize_block_q8(const float* x, int8_t* qs, int32_t* sum) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 v[4];
  __m256 amax = _mm256_setzero_ps();
  for (int i = 0; i < 4; ++i) {
    v[i] = _mm256_loadu_ps(x + 8 * i);
    amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[i]));
  }
  const float d = hmax(amax) / 127.f;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  __m256i q[4];
  for (int i = 0; i < 4; ++i)
    q[i] = _mm256_cvtps_epi32(round_half_away(_mm256_mul_ps(v[i], _mm256_set1_ps(id))));
  *sum =
      simd::hsum_i32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
  // Packing interleaves the 128-bit lanes; the permutation restores element order.
  const __m256i bytes =
      _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
  const __m256i ordered =
      _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), ordered);
  return d;
}

}  // namespace qmix::legacy_avx2

namespace qmix::kernels {
namespace {

using layout::BlockQ8_0;
using legacy::kQK;

void quantize_row(const float* src, void* dst, int64_t n, const float* /*imatrix*/) {
  BlockQ8_0* y = static_cast<BlockQ8_0*>(dst);
  int32_t sum = 0;
  for (int64_t ib = 0; ib < n / kQK; ++ib)
    y[ib].d = fp32_to_fp16(legacy_avx2::quantize_block_q8(src + ib * kQK, y[ib].qs, &sum));
}

legacy_avx2::Decoded decode(const BlockQ8_0& b) {
  return {simd::load32(b.qs), simd::half_to_float(b.d)};
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  legacy_avx2::dequantize_row<BlockQ8_0>(src, dst, n, decode);
}

float dot(const void* weights, const void* activations, int64_t n) {
  return legacy_avx2::dot_with_q8_0<BlockQ8_0>(weights, activations, n, decode);
}

}  // namespace

QuantKernels q8_0_avx2() {
  return {.quantize = quantize_row, .dequantize = dequantize_row, .dot = dot};
}

}  // namespace qmix::kernels
