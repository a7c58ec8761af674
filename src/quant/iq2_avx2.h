// AVX2 building blocks for the IQ2/IQ1 dot products. Include only from *_avx2.cpp files.
// All sums are exact integers; the kernels combine blocks in the scalar kernels' float order,
// so SIMD and scalar dots agree.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace qmix::iq2::avx2 {

// Four grid entries (8 bytes each) as 32 bytes, entry 0 in the lowest quarter.
inline __m256i grid4(uint64_t g0, uint64_t g1, uint64_t g2, uint64_t g3) {
  return _mm256_set_epi64x(static_cast<int64_t>(g3), static_cast<int64_t>(g2),
                           static_cast<int64_t>(g1), static_cast<int64_t>(g0));
}

// Four sign bytes (byte k for values 8k..8k+7, bit j = value j negative) as ±1 per value.
inline __m256i signs_pm1(uint32_t sign_bytes) {
  const __m256i spread = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                           0x0101010101010101, 0x0000000000000000);
  const __m256i bits = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201));
  const __m256i bytes =
      _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int32_t>(sign_bytes)), spread);
  const __m256i negative = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bits), bits);
  return _mm256_or_si256(negative, _mm256_set1_epi8(1));
}

// 16-bit scale for the low 16 bytes (ls_low) and the high 16 bytes (ls_high).
inline __m256i scales16(int ls_low, int ls_high) {
  return _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(ls_high)),
                          _mm_set1_epi16(static_cast<int16_t>(ls_low)));
}

// int16 pair sums of 32 signed bytes.
inline __m256i pair_sums(__m256i bytes) { return _mm256_maddubs_epi16(_mm256_set1_epi8(1), bytes); }

inline int32_t hsum(__m256i v) {
  const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  const __m128i s2 = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  return _mm_cvtsi128_si32(_mm_add_epi32(s2, _mm_shuffle_epi32(s2, 0xb1)));
}

inline __m256i load32(const int8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

}  // namespace qmix::iq2::avx2
