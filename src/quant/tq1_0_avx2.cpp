// tq1_0 with AVX2: dot with q8_K and dequantization (same results as scalar).
#include "quant/kernels.h"
#include "quant/ternary_avx2.h"

namespace qmix::kernels {
namespace {

using layout::BlockTQ1_0;

// Base-3 digit of each byte selected by the per-16-bit-lane multiplier 3^k: the byte times 3^k
// modulo 256, then (that * 3) >> 8. Even and odd bytes are multiplied apart so no carry
// crosses bytes.
__m256i digits(__m256i bytes, __m256i pow3) {
  const __m256i low = _mm256_set1_epi16(0x00FF);
  const __m256i even =
      _mm256_and_si256(_mm256_mullo_epi16(_mm256_and_si256(bytes, low), pow3), low);
  const __m256i odd = _mm256_mullo_epi16(_mm256_andnot_si256(low, bytes), pow3);
  const __m256i t = _mm256_or_si256(even, _mm256_andnot_si256(low, odd));
  const __m256i three = _mm256_set1_epi16(3);
  const __m256i d_even = _mm256_mulhi_epu16(_mm256_slli_epi16(t, 8), three);
  const __m256i d_odd = _mm256_mulhi_epu16(_mm256_andnot_si256(low, t), three);
  return _mm256_or_si256(d_even, _mm256_slli_epi16(d_odd, 8));
}

void store_values(__m256i digits, int8_t* out) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                      _mm256_sub_epi8(digits, _mm256_set1_epi8(1)));
}

// Byte i of qs[0..31] holds values i + 32k (k = 0..4), of qs[32..47] values 160 + i + 16k,
// of qh[0..3] values 240 + i + 4k (k = 0..3); digit k is the k-th most significant.
void decode(const BlockTQ1_0& b, int8_t* values) {
  const __m256i first = simd::load32(b.qs);
  for (int k = 0; k < 5; ++k) {
    static constexpr int16_t kPow3[5] = {1, 3, 9, 27, 81};
    store_values(digits(first, _mm256_set1_epi16(kPow3[k])), values + 32 * k);
  }
  const __m128i second = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs + 32));
  const __m256i twice = _mm256_set_m128i(second, second);
  store_values(digits(twice, _mm256_setr_epi16(1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3)),
               values + 160);
  store_values(
      digits(twice, _mm256_setr_epi16(9, 9, 9, 9, 9, 9, 9, 9, 27, 27, 27, 27, 27, 27, 27, 27)),
      values + 192);
  // The last digit of qs[32..47] (values 224..239), then the four qh bytes' digits (240..255).
  const __m128i tail = _mm_set1_epi32(static_cast<int32_t>(layout::load_u32_le(b.qh)));
  store_values(digits(_mm256_set_m128i(tail, second),
                      _mm256_setr_epi16(81, 81, 81, 81, 81, 81, 81, 81, 1, 1, 3, 3, 9, 9, 27, 27)),
               values + 224);
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  ternary_avx2::dequantize_row<BlockTQ1_0>(src, dst, n, decode);
}

float dot(const void* weights, const void* activations, int64_t n) {
  return ternary_avx2::dot_with_q8_k<BlockTQ1_0>(weights, activations, n, decode);
}

}  // namespace

QuantKernels tq1_0_avx2() { return {.dequantize = dequantize_row, .dot = dot}; }

}  // namespace qmix::kernels
