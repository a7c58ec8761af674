// AVX2 row kernels of the k-quants, written once over a format's `Avx2Traits`:
//   using Block; static constexpr Format format;
//   static __m256i levels(const Block&, int c);      // the 32 levels of values 32c..32c+31
//   static void scales(const Block&, BlockScales&);
// The integer sums are exact and the float steps are those of the scalar kernels (this file is
// compiled without contraction), so dot and dequantize return the scalar results bit for bit.
// Include only from *_avx2.cpp files.
#pragma once

#include <immintrin.h>

#include <cstring>

#include "quant/block_sum.h"
#include "quant/k_quants_common.h"

namespace qmix::kquant::avx2 {

inline int32_t hsum(__m256i v) {
  const __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  const __m128i s2 = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  return _mm_cvtsi128_si32(_mm_add_epi32(s2, _mm_shuffle_epi32(s2, 0xb1)));
}

inline __m256i load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Eight bytes (as the low half of a 64-bit value) widened to int16 and stored.
inline void widen_store(uint64_t bytes, int16_t* out) {
  const __m128i v = _mm_cvtsi64_si128(static_cast<int64_t>(bytes));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_cvtepi8_epi16(v));
}

inline uint32_t word(const uint8_t* p, int i) {
  uint32_t w;
  std::memcpy(&w, p + 4 * i, sizeof w);
  return w;
}

// The eight 6-bit scales and mins of q4_K/q5_K (see pack_scales_mins), four per 32-bit word.
inline void unpack_scales_mins_fast(const uint8_t* packed, BlockScales& s) {
  const uint32_t a = word(packed, 0), b = word(packed, 1), c = word(packed, 2);
  constexpr uint32_t k6 = 0x3f3f3f3f, k4 = 0x0f0f0f0f, k2 = 0x03030303;
  const uint32_t scales_lo = a & k6, mins_lo = b & k6;
  const uint32_t scales_hi = (c & k4) | ((a >> 6) & k2) << 4;
  const uint32_t mins_hi = ((c >> 4) & k4) | ((b >> 6) & k2) << 4;
  widen_store(scales_lo | static_cast<uint64_t>(scales_hi) << 32, s.scale);
  widen_store(mins_lo | static_cast<uint64_t>(mins_hi) << 32, s.min);
}

// Byte k of each 32-bit lane selects bits `shift`.. of v (two-bit and four-bit fields).
inline __m256i field(__m256i v, int shift, int mask) {
  return _mm256_and_si256(_mm256_srli_epi16(v, shift), _mm256_set1_epi8(static_cast<char>(mask)));
}

// `value` where (v & bit) is set, 0 elsewhere, per byte.
inline __m256i bit_to(__m256i v, int bit, int value) {
  const __m256i b = _mm256_set1_epi8(static_cast<char>(bit));
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, b), b),
                          _mm256_set1_epi8(static_cast<char>(value)));
}

// Σ_j scale_j Σ_i level_i q8_i for 32 values (one 32-value sub-block or two 16-value ones).
template <int kSubBlock>
__m256i scaled_chunk(__m256i levels, const int8_t* q8, const int16_t* scale) {
  const __m256i products = _mm256_maddubs_epi16(levels, load(q8));  // ≤ 2·63·127: no saturation
  const __m256i s = kSubBlock == 32
                        ? _mm256_set1_epi16(scale[0])
                        : _mm256_set_m128i(_mm_set1_epi16(scale[1]), _mm_set1_epi16(scale[0]));
  return _mm256_madd_epi16(products, s);
}

// Σ_j v_j · bsum_j over the sixteen 16-value q8 block sums, v given per sub-block.
template <int kSubBlock>
int32_t weighted_bsums(const int16_t* per_sub_block, const BlockQ8K& y) {
  __m256i v;
  if constexpr (kSubBlock == 16) {
    v = load(per_sub_block);
  } else {  // each of the eight values covers two block sums
    const __m128i eight = _mm_loadu_si128(reinterpret_cast<const __m128i*>(per_sub_block));
    v = _mm256_set_m128i(_mm_unpackhi_epi16(eight, eight), _mm_unpacklo_epi16(eight, eight));
  }
  return hsum(_mm256_madd_epi16(v, load(y.bsums)));
}

template <class T>
IntegerDot integer_dot(const typename T::Block& b, const BlockScales& s, const BlockQ8K& y) {
  constexpr Format f = T::format;
  __m256i acc = _mm256_setzero_si256();
  for (int c = 0; c < kQKK / 32; ++c)
    acc = _mm256_add_epi32(acc, scaled_chunk<f.sub_block>(T::levels(b, c), y.qs + 32 * c,
                                                          s.scale + c * 32 / f.sub_block));
  IntegerDot sums;
  sums.isum = hsum(acc);
  // The level bias and the minimums act on whole sub-blocks: use the q8 block sums.
  if constexpr (f.bias != 0) sums.isum -= f.bias * weighted_bsums<f.sub_block>(s.scale, y);
  if constexpr (f.affine()) sums.msum = weighted_bsums<f.sub_block>(s.min, y);
  return sums;
}

template <class T>
float dot_row(const void* weights, const void* activations, int64_t n) {
  const auto* x = static_cast<const typename T::Block*>(weights);
  const auto* y = static_cast<const BlockQ8K*>(activations);
  return sum_block_contributions(n / kQKK, [&](int64_t b) {
    BlockScales s;
    T::scales(x[b], s);
    return dot_contribution(fp16_to_fp32(s.d), fp16_to_fp32(s.dmin), y[b].d,
                            integer_dot<T>(x[b], s, y[b]));
  });
}

// Eight values dl * (level - bias) - ml from the eight bytes at the bottom of `bytes`.
template <Format f>
void store8(__m128i bytes, float dl, float ml, float* y) {
  __m256i l = _mm256_cvtepu8_epi32(bytes);
  if constexpr (f.bias != 0) l = _mm256_sub_epi32(l, _mm256_set1_epi32(f.bias));
  __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(l), _mm256_set1_ps(dl));
  if constexpr (f.affine()) v = _mm256_sub_ps(v, _mm256_set1_ps(ml));
  _mm256_storeu_ps(y, v);
}

template <class T>
void dequantize_row(const void* src, float* dst, int64_t n) {
  constexpr Format f = T::format;
  const auto* x = static_cast<const typename T::Block*>(src);
  BlockScales s;
  for (int64_t b = 0; b < n / kQKK; ++b, dst += kQKK) {
    T::scales(x[b], s);
    const float d = fp16_to_fp32(s.d), dmin = fp16_to_fp32(s.dmin);
    for (int c = 0; c < kQKK / 32; ++c) {
      alignas(32) uint8_t bytes[32];
      _mm256_store_si256(reinterpret_cast<__m256i*>(bytes), T::levels(x[b], c));
      for (int q = 0; q < 4; ++q) {
        const int j = (32 * c + 8 * q) / f.sub_block;
        const float dl = d * static_cast<float>(s.scale[j]);
        const float ml = f.affine() ? dmin * static_cast<float>(s.min[j]) : 0.f;
        store8<T::format>(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(bytes + 8 * q)), dl, ml,
                          dst + 32 * c + 8 * q);
      }
    }
  }
}

}  // namespace qmix::kquant::avx2
