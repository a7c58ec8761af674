// q8_K: AVX2 quantization (the activations of every 256-value format's dot product),
// dequantization and dot product; same results as the scalar kernels.
#include <algorithm>
#include <cmath>

#include "quant/block_sum.h"
#include "quant/k_quants_avx2.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using kquant::BlockQ8K;
using kquant::kQKK;

// The value of largest magnitude (the first of them, as the scalar scan keeps).
float signed_max(const float* x) {
  const __m256 sign = _mm256_set1_ps(-0.f);
  __m256 amax = _mm256_setzero_ps();
  for (int j = 0; j < kQKK; j += 8)
    amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  const float a = _mm_cvtss_f32(m);
  if (a == 0) return 0;
  for (int j = 0;; ++j)
    if (std::fabs(x[j]) == a) return x[j];
}

void quantize_block(const float* x, BlockQ8K& y) {
  const float max = signed_max(x);
  y = BlockQ8K{};
  if (max == 0) return;
  const float iscale = -127.f / max;
  const __m256 scale = _mm256_set1_ps(iscale);
  for (int j = 0; j < kQKK; j += 32) {
    __m256i q[4];
    for (int k = 0; k < 4; ++k) {
      // Round to nearest even, as the scalar nearest_int; |v| <= 127 so no clamping below.
      const __m256 v = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + j + 8 * k), scale),
                                       _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      q[k] = _mm256_min_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(127));
    }
    // Pack 4 x 8 int32 to 32 int8 in order (packs work per 128-bit lane: fix the order).
    const __m256i w01 = _mm256_packs_epi32(q[0], q[1]);
    const __m256i w23 = _mm256_packs_epi32(q[2], q[3]);
    const __m256i b = _mm256_packs_epi16(w01, w23);
    const __m256i ordered =
        _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y.qs + j), ordered);
  }
  for (int j = 0; j < kQKK / 16; ++j) {
    int sum = 0;
    for (int i = 0; i < 16; ++i) sum += y.qs[16 * j + i];
    y.bsums[j] = static_cast<int16_t>(sum);
  }
  y.d = 1 / iscale;
}

void quantize_row(const float* src, void* dst, int64_t n, const float* /*imatrix*/) {
  auto* y = static_cast<BlockQ8K*>(dst);
  for (int64_t b = 0; b < n / kQKK; ++b) quantize_block(src + b * kQKK, y[b]);
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ8K*>(src);
  for (int64_t b = 0; b < n / kQKK; ++b, dst += kQKK) {
    const __m256 d = _mm256_set1_ps(x[b].d);
    for (int j = 0; j < kQKK; j += 8) {
      const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x[b].qs + j));
      _mm256_storeu_ps(dst + j, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes))));
    }
  }
}

float dot(const void* weights, const void* activations, int64_t n) {
  const auto* x = static_cast<const BlockQ8K*>(weights);
  const auto* y = static_cast<const BlockQ8K*>(activations);
  return sum_block_contributions(n / kQKK, [&](int64_t b) {
    __m256i acc = _mm256_setzero_si256();
    for (int j = 0; j < kQKK; j += 16) {
      const __m256i a =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x[b].qs + j)));
      const __m256i c =
          _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(y[b].qs + j)));
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(a, c));
    }
    return static_cast<float>(kquant::avx2::hsum(acc)) * (x[b].d * y[b].d);
  });
}

}  // namespace

QuantKernels q8_k_avx2() {
  return {.quantize = quantize_row, .dequantize = dequantize_row, .dot = dot};
}

}  // namespace qmix::kernels
