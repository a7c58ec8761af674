// AVX2 building blocks shared by the *_avx2.cpp kernels. Include only from *_avx2.cpp files
// (compiled with -mavx2 -mfma -mf16c -ffp-contract=off and entered after a CPU check).
// Everything here is exact: integer sums, exact conversions, and float steps that round like
// the scalar reference's, so that the SIMD kernels can return the scalar results.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace qmix::simd {

inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

inline int32_t hsum_i32(__m256i v) {
  const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  const __m128i s2 = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  return _mm_cvtsi128_si32(_mm_add_epi32(s2, _mm_shuffle_epi32(s2, 0xb1)));
}

// Byte j = 0xFF where bit j of `bits` is set, 0 elsewhere.
inline __m256i bit_mask32(uint32_t bits) {
  const __m256i spread = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                           0x0101010101010101, 0x0000000000000000);
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201));
  const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int32_t>(bits)), spread);
  return _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit);
}

// 16 bytes of nibbles as 32 bytes: low nibbles first (values 0..15), then high nibbles
// (values 16..31), the legacy blocks' element order.
inline __m256i unpack_nibbles(const uint8_t* qs) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// Eight int32 partial sums of u[j] * s[j] (u unsigned, s signed bytes; |u * s| pairs stay
// below 2^15 for |s| <= 127 and u <= 128, so nothing saturates).
inline __m256i dot_u8_i8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// Eight int32 partial sums of a[j] * b[j] for signed bytes a (any value) and b in [-127, 127]
// (the range every Q8 quantizer produces).
inline __m256i dot_i8(__m256i a, __m256i b) {
  return dot_u8_i8(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

// Table lookup of 32 indices 0..15 into a 16-entry byte table.
inline __m256i lookup16(__m256i indices, const int8_t* table) {
  const __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(table));
  return _mm256_shuffle_epi8(_mm256_set_m128i(t, t), indices);
}

// Writes float(v[j]) * d (then + m) for 32 signed bytes v, with the scalar kernels' float steps.
inline void store_scaled(__m256i v, float d, float* dst) {
  const __m256 dv = _mm256_set1_ps(d);
  const __m128i halves[2] = {_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)};
  for (int h = 0; h < 2; ++h)
    for (int q = 0; q < 2; ++q) {
      const __m128i bytes = q == 0 ? halves[h] : _mm_srli_si128(halves[h], 8);
      const __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes));
      _mm256_storeu_ps(dst + 16 * h + 8 * q, _mm256_mul_ps(f, dv));
    }
}
inline void store_scaled_offset(__m256i v, float d, float m, float* dst) {
  const __m256 dv = _mm256_set1_ps(d), mv = _mm256_set1_ps(m);
  const __m128i halves[2] = {_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)};
  for (int h = 0; h < 2; ++h)
    for (int q = 0; q < 2; ++q) {
      const __m128i bytes = q == 0 ? halves[h] : _mm_srli_si128(halves[h], 8);
      const __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes));
      _mm256_storeu_ps(dst + 16 * h + 8 * q, _mm256_add_ps(_mm256_mul_ps(f, dv), mv));
    }
}

// IEEE half to float with F16C: exact, and equal to fp16_to_fp32 for every input.
inline float half_to_float(uint16_t h) { return _cvtsh_ss(h); }

}  // namespace qmix::simd
