// bf16 with AVX2: conversion both ways (integer steps of the scalar kernels, bit-identical) and
// the dot with f32.
#include "core/fp16.h"
#include "quant/float_avx2.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

__m256 load8(const bf16_t* x, int64_t i) {
  const __m256i wide =
      _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

// fp32_to_bf16 on 8 values: round to nearest even, NaNs kept quiet; results in 32-bit lanes.
__m256i to_bf16(__m256 v) {
  const __m256i u = _mm256_castps_si256(v);
  const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  const __m256i rounded =
      _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), odd)), 16);
  const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64));
  const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)),
                                         _mm256_set1_epi32(0x7f800000));
  return _mm256_blendv_epi8(rounded, quiet, nan);
}

void quantize_row(const float* src, void* dst, int64_t n, const float* /*imatrix*/) {
  auto* y = static_cast<bf16_t*>(dst);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i packed = _mm256_packus_epi32(to_bf16(_mm256_loadu_ps(src + i)),
                                               to_bf16(_mm256_loadu_ps(src + i + 8)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i),
                        _mm256_permute4x64_epi64(packed, 0xd8));  // undo the lane interleave
  }
  for (; i < n; ++i) y[i] = fp32_to_bf16(src[i]);
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const bf16_t*>(src);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load8(x, i));
  for (; i < n; ++i) dst[i] = bf16_to_fp32(x[i]);
}

float dot(const void* weights, const void* activations, int64_t n) {
  return float_avx2::dot<bf16_t>(weights, activations, n, load8,
                                 [](const bf16_t* x, int64_t i) { return bf16_to_fp32(x[i]); });
}

}  // namespace

QuantKernels bf16_avx2() {
  return {.quantize = quantize_row, .dequantize = dequantize_row, .dot = dot};
}

}  // namespace qmix::kernels
