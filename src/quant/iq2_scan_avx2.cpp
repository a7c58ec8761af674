// scan_codes in AVX2 lanes: eight candidates per pass (same positions as the scalar loop).
#include <immintrin.h>

#include <cstring>

#include "quant/iq2_scan_lanes.h"

namespace qmix::iq2 {
namespace {

struct Lane8 {
  __m256 value = _mm256_set1_ps(FLT_MAX);
  __m256i position = _mm256_set1_epi32(lanes::kNoPosition);

  void take_smaller(__m256 v, __m256i at) {
    const __m256 smaller = _mm256_cmp_ps(v, value, _CMP_LT_OQ);
    value = _mm256_blendv_ps(value, v, smaller);
    position = _mm256_castps_si256(
        _mm256_blendv_ps(_mm256_castsi256_ps(position), _mm256_castsi256_ps(at), smaller));
  }
  void reduce(int& out_position, float& out_value) const {
    alignas(32) float v[8];
    alignas(32) int32_t p[8];
    _mm256_store_ps(v, value);
    _mm256_store_si256(reinterpret_cast<__m256i*>(p), position);
    lanes::reduce(v, p, 8, out_position, out_value);
  }
};

template <int kSize, int kBits>
ScanBest scan(const LevelTables& t, std::span<const uint16_t> codes, FlipSearch flips) {
  __m256 cost[kSize], flip[kSize];
  for (int j = 0; j < kSize; ++j) {
    cost[j] = _mm256_load_ps(t.cost[j]);
    flip[j] = _mm256_load_ps(t.flip[j]);
  }
  const bool with_flips = flips == FlipSearch::kCheapestFlip;
  Lane8 natural, flipped;
  __m256i position = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const size_t n = codes.size();
  for (size_t k = 0; k < n; k += 8) {
    alignas(16) uint16_t tail[8] = {};
    const uint16_t* src = codes.data() + k;
    if (n - k < 8) {
      std::memcpy(tail, src, (n - k) * sizeof(uint16_t));
      src = tail;
    }
    const __m256i code =
        _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src)));
    __m256 c = _mm256_permutevar8x32_ps(cost[0], code);
    __m256 p = _mm256_permutevar8x32_ps(flip[0], code);
    for (int j = 1; j < kSize; ++j) {
      const __m256i level = _mm256_srli_epi32(code, kBits * j);
      c = _mm256_add_ps(c, _mm256_permutevar8x32_ps(cost[j], level));
      if (with_flips) p = _mm256_min_ps(_mm256_permutevar8x32_ps(flip[j], level), p);
    }
    if (n - k < 8) {  // lanes past the end never win
      const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
      const __m256 past = _mm256_castsi256_ps(
          _mm256_cmpgt_epi32(lane, _mm256_set1_epi32(static_cast<int>(n - k) - 1)));
      c = _mm256_blendv_ps(c, _mm256_set1_ps(FLT_MAX), past);
      p = _mm256_blendv_ps(p, _mm256_set1_ps(FLT_MAX), past);
    }
    natural.take_smaller(c, position);
    if (with_flips) flipped.take_smaller(_mm256_add_ps(c, p), position);
    position = _mm256_add_epi32(position, _mm256_set1_epi32(8));
  }
  ScanBest best;
  natural.reduce(best.natural, best.natural_cost);
  if (with_flips) flipped.reduce(best.flipped, best.flipped_cost);
  return best;
}

}  // namespace

ScanBest scan_codes_avx2(const LevelTables& t, std::span<const uint16_t> codes, FlipSearch flips) {
  return t.shape.group_size == 8 ? scan<8, 2>(t, codes, flips) : scan<4, 3>(t, codes, flips);
}

}  // namespace qmix::iq2
