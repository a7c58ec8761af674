// scan_codes in AVX-512 lanes: sixteen candidates per pass (same positions as the scalar loop).
#include <immintrin.h>

#include <cstring>

#include "quant/iq2_scan_lanes.h"

namespace qmix::iq2 {
namespace {

// GCC 12's unmasked forms of these pass an undefined vector through (-Wmaybe-uninitialized);
// the zero-masked forms with every lane selected are the same instructions.
constexpr __mmask16 kAll = 0xffff;
__m512 permute(__m512i index, __m512 table) {
  return _mm512_maskz_permutexvar_ps(kAll, index, table);
}
__m512i shift_right(__m512i v, int bits) {
  return _mm512_maskz_srli_epi32(kAll, v, static_cast<unsigned>(bits));
}

struct Lane16 {
  __m512 value = _mm512_set1_ps(FLT_MAX);
  __m512i position = _mm512_set1_epi32(lanes::kNoPosition);

  void take_smaller(__m512 v, __m512i at, __mmask16 valid) {
    const __mmask16 smaller = _mm512_mask_cmp_ps_mask(valid, v, value, _CMP_LT_OQ);
    value = _mm512_mask_blend_ps(smaller, value, v);
    position = _mm512_mask_blend_epi32(smaller, position, at);
  }
  void reduce(int& out_position, float& out_value) const {
    alignas(64) float v[16];
    alignas(64) int32_t p[16];
    _mm512_store_ps(v, value);
    _mm512_store_si512(p, position);
    lanes::reduce(v, p, 16, out_position, out_value);
  }
};

template <int kSize, int kBits>
ScanBest scan(const LevelTables& t, std::span<const uint16_t> codes, FlipSearch flips) {
  __m512 cost[kSize], flip[kSize];
  for (int j = 0; j < kSize; ++j) {
    cost[j] = _mm512_load_ps(t.cost[j]);
    flip[j] = _mm512_load_ps(t.flip[j]);
  }
  const bool with_flips = flips == FlipSearch::kCheapestFlip;
  Lane16 natural, flipped;
  __m512i position = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const size_t n = codes.size();
  for (size_t k = 0; k < n; k += 16) {
    alignas(32) uint16_t tail[16] = {};
    const uint16_t* src = codes.data() + k;
    __mmask16 valid = 0xffff;
    if (n - k < 16) {
      std::memcpy(tail, src, (n - k) * sizeof(uint16_t));
      src = tail;
      valid = static_cast<__mmask16>((1u << (n - k)) - 1);
    }
    const __m512i code = _mm512_maskz_cvtepu16_epi32(
        kAll, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src)));
    __m512 c = permute(code, cost[0]);
    __m512 p = permute(code, flip[0]);
    for (int j = 1; j < kSize; ++j) {
      const __m512i level = shift_right(code, kBits * j);
      c = _mm512_add_ps(c, permute(level, cost[j]));
      if (with_flips) p = _mm512_maskz_min_ps(kAll, permute(level, flip[j]), p);
    }
    natural.take_smaller(c, position, valid);
    if (with_flips) flipped.take_smaller(_mm512_add_ps(c, p), position, valid);
    position = _mm512_add_epi32(position, _mm512_set1_epi32(16));
  }
  ScanBest best;
  natural.reduce(best.natural, best.natural_cost);
  if (with_flips) flipped.reduce(best.flipped, best.flipped_cost);
  return best;
}

}  // namespace

ScanBest scan_codes_avx512(const LevelTables& t, std::span<const uint16_t> codes,
                           FlipSearch flips) {
  return t.shape.group_size == 8 ? scan<8, 2>(t, codes, flips) : scan<4, 3>(t, codes, flips);
}

}  // namespace qmix::iq2
