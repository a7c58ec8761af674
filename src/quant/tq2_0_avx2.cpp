// tq2_0 with AVX2: quantization, dot with q8_K and dequantization (same results as scalar).
#include "core/fp16.h"
#include "quant/kernels.h"
#include "quant/ternary_avx2.h"

namespace qmix::kernels {
namespace {

using layout::BlockTQ2_0;
using layout::kQKK;

// Bits 2k..2k+1 of byte 32g + m hold value 128g + 32k + m, stored as t + 1.
void decode(const BlockTQ2_0& b, int8_t* values) {
  for (int g = 0; g < 2; ++g) {
    const __m256i bytes = simd::load32(b.qs + 32 * g);
    for (int k = 0; k < 4; ++k) {
      const __m256i q = _mm256_and_si256(_mm256_srli_epi16(bytes, 2 * k), _mm256_set1_epi8(3));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(values + 128 * g + 32 * k),
                          _mm256_sub_epi8(q, _mm256_set1_epi8(1)));
    }
  }
}

// ternary::trit's bytes: four 2-bit trits per byte (each < 3, so 16-bit shifts stay in
// their byte).
void quantize_row(const float* src, void* dst, int64_t n, const float* /*imatrix*/) {
  BlockTQ2_0* y = static_cast<BlockTQ2_0*>(dst);
  for (int64_t ib = 0; ib < n / kQKK; ++ib) {
    __m256i t[kQKK / 32];
    y[ib].d = fp32_to_fp16(ternary_avx2::block_trits(src + ib * kQKK, t));
    for (int g = 0; g < 2; ++g) {
      const __m256i low = _mm256_or_si256(t[4 * g], _mm256_slli_epi16(t[4 * g + 1], 2));
      const __m256i high =
          _mm256_or_si256(_mm256_slli_epi16(t[4 * g + 2], 4), _mm256_slli_epi16(t[4 * g + 3], 6));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[ib].qs + 32 * g),
                          _mm256_or_si256(low, high));
    }
  }
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  ternary_avx2::dequantize_row<BlockTQ2_0>(src, dst, n, decode);
}

float dot(const void* weights, const void* activations, int64_t n) {
  return ternary_avx2::dot_with_q8_k<BlockTQ2_0>(weights, activations, n, decode);
}

}  // namespace

QuantKernels tq2_0_avx2() {
  return {.quantize = quantize_row, .dequantize = dequantize_row, .dot = dot};
}

}  // namespace qmix::kernels
