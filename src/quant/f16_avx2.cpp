// f16 with AVX2+F16C: conversion both ways (bit-identical to the scalar kernels: the hardware
// conversions round to nearest even, and NaNs are given the scalar kernel's canonical half
// NaN) and the dot with f32.
#include "core/fp16.h"
#include "quant/float_avx2.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

__m256 load8(const fp16_t* x, int64_t i) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i)));
}

void quantize_row(const float* src, void* dst, int64_t n, const float* /*imatrix*/) {
  auto* y = static_cast<fp16_t*>(dst);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(src + i);
    __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // fp32_to_fp16 turns every NaN into the sign and 0x7E00.
    const __m128i nan = _mm_packs_epi32(
        _mm256_castsi256_si128(_mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q))),
        _mm256_extracti128_si256(_mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)), 1));
    const __m128i canonical = _mm_or_si128(
        _mm_and_si128(h, _mm_set1_epi16(static_cast<int16_t>(0x8000))), _mm_set1_epi16(0x7E00));
    h = _mm_blendv_epi8(h, canonical, nan);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), h);
  }
  for (; i < n; ++i) y[i] = fp32_to_fp16(src[i]);
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const fp16_t*>(src);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load8(x, i));
  for (; i < n; ++i) dst[i] = fp16_to_fp32(x[i]);
}

float dot(const void* weights, const void* activations, int64_t n) {
  return float_avx2::dot<fp16_t>(weights, activations, n, load8,
                                 [](const fp16_t* x, int64_t i) { return fp16_to_fp32(x[i]); });
}

}  // namespace

QuantKernels f16_avx2() {
  return {.quantize = quantize_row, .dequantize = dequantize_row, .dot = dot};
}

}  // namespace qmix::kernels
