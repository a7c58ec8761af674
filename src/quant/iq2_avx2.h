// AVX2 building blocks for the IQ2/IQ1 dot products. Include only from *_avx2.cpp files.
// All sums are exact integers; the kernels combine blocks in the scalar kernels' float order,
// so SIMD and scalar dots agree.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "quant/avx2_common.h"

namespace qmix::iq2::avx2 {

// Four grid entries (8 bytes each) as 32 bytes, entry 0 in the lowest quarter.
inline __m256i grid4(uint64_t g0, uint64_t g1, uint64_t g2, uint64_t g3) {
  return _mm256_set_epi64x(static_cast<int64_t>(g3), static_cast<int64_t>(g2),
                           static_cast<int64_t>(g1), static_cast<int64_t>(g0));
}

// Four sign bytes (byte k for values 8k..8k+7, bit j = value j negative) as ±1 per value.
inline __m256i signs_pm1(uint32_t sign_bytes) {
  return _mm256_or_si256(simd::bit_mask32(sign_bytes), _mm256_set1_epi8(1));
}

// 16-bit scale for the low 16 bytes (ls_low) and the high 16 bytes (ls_high).
inline __m256i scales16(int ls_low, int ls_high) {
  return _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(ls_high)),
                          _mm_set1_epi16(static_cast<int16_t>(ls_low)));
}

// int16 pair sums of 32 signed bytes.
inline __m256i pair_sums(__m256i bytes) { return _mm256_maddubs_epi16(_mm256_set1_epi8(1), bytes); }

using simd::hsum_i32;
using simd::load32;

}  // namespace qmix::iq2::avx2
