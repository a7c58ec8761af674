// tq1_0 with AVX2: quantization, dot with q8_K and dequantization (same results as scalar).
#include <cstring>

#include "core/fp16.h"
#include "quant/kernels.h"
#include "quant/ternary_avx2.h"

namespace qmix::kernels {
namespace {

using layout::BlockTQ1_0;
using layout::kQKK;

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

// Base-3 numbers (each < 243) to ggml's stored bytes ceil(q * 256 / 243) = q +
// floor((13q + 242) / 243), that quotient (< 14) being (13q + 242) * 270 >> 16 for every q
// (checked exhaustively); even and odd bytes in 16-bit lanes apart.
__m256i stored_bytes(__m256i q) {
  const auto carry = [](__m256i lanes) {
    const __m256i n =
        _mm256_add_epi16(_mm256_mullo_epi16(lanes, _mm256_set1_epi16(13)), _mm256_set1_epi16(242));
    return _mm256_mulhi_epu16(n, _mm256_set1_epi16(270));
  };
  const __m256i even = carry(_mm256_and_si256(q, _mm256_set1_epi16(0x00FF)));
  const __m256i odd = carry(_mm256_srli_epi16(q, 8));
  return _mm256_add_epi8(q, _mm256_or_si256(even, _mm256_slli_epi16(odd, 8)));
}

// q * 3 + digit in bytes (never past 242: q holds at most four digits here).
__m256i push_digit(__m256i q, __m256i digit) {
  return _mm256_add_epi8(_mm256_add_epi8(q, _mm256_add_epi8(q, q)), digit);
}

// ternary::trit's bytes; the layout as in decode, most significant digit first.
void quantize_row(const float* src, void* dst, int64_t n, const float* /*imatrix*/) {
  BlockTQ1_0* y = static_cast<BlockTQ1_0*>(dst);
  for (int64_t ib = 0; ib < n / kQKK; ++ib) {
    __m256i t[kQKK / 32];
    y[ib].d = fp32_to_fp16(ternary_avx2::block_trits(src + ib * kQKK, t));
    __m256i first = t[0];
    for (int k = 1; k < 5; ++k) first = push_digit(first, t[k]);
    // Digit k of qs[32..47] (values 160 + i + 16k: halves of t[5..7]) in the low half and of
    // qh (values 240 + i + 4k: the last half's bytes 4k.., a fifth digit 0) in the high half.
    const __m128i last = _mm256_extracti128_si256(t[7], 1);
    const __m128i qh_digits[5] = {last, _mm_srli_si128(last, 4), _mm_srli_si128(last, 8),
                                  _mm_srli_si128(last, 12), _mm_setzero_si128()};
    __m256i second = _mm256_setzero_si256();
    for (int k = 0; k < 5; ++k) {
      const __m256i v = t[5 + k / 2];
      const __m128i half = k % 2 == 0 ? _mm256_castsi256_si128(v) : _mm256_extracti128_si256(v, 1);
      second = push_digit(second, _mm256_set_m128i(qh_digits[k], half));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[ib].qs), stored_bytes(first));
    alignas(32) uint8_t rest[32];
    _mm256_store_si256(reinterpret_cast<__m256i*>(rest), stored_bytes(second));
    std::memcpy(y[ib].qs + 32, rest, 16);
    std::memcpy(y[ib].qh, rest + 16, 4);
  }
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  ternary_avx2::dequantize_row<BlockTQ1_0>(src, dst, n, decode);
}

float dot(const void* weights, const void* activations, int64_t n) {
  return ternary_avx2::dot_with_q8_k<BlockTQ1_0>(weights, activations, n, decode);
}

}  // namespace

QuantKernels tq1_0_avx2() {
  return {.quantize = quantize_row, .dequantize = dequantize_row, .dot = dot};
}

}  // namespace qmix::kernels
