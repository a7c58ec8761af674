// tq2_0 with AVX2: dot with q8_K and dequantization (same results as scalar).
#include "quant/kernels.h"
#include "quant/ternary_avx2.h"

namespace qmix::kernels {
namespace {

using layout::BlockTQ2_0;

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

void dequantize_row(const void* src, float* dst, int64_t n) {
  ternary_avx2::dequantize_row<BlockTQ2_0>(src, dst, n, decode);
}

float dot(const void* weights, const void* activations, int64_t n) {
  return ternary_avx2::dot_with_q8_k<BlockTQ2_0>(weights, activations, n, decode);
}

}  // namespace

QuantKernels tq2_0_avx2() { return {.dequantize = dequantize_row, .dot = dot}; }

}  // namespace qmix::kernels
