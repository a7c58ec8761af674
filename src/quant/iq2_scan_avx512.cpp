// scan_codes in AVX-512 lanes: sixteen candidates per pass (same positions as the scalar loop).
#include <immintrin.h>

#include <bit>
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

// Every lane gets the smallest of the 16 (exact for floats without NaN and for integers).
__m512 all_min(__m512 v) {
  v = _mm512_maskz_min_ps(kAll, v, _mm512_maskz_shuffle_f32x4(kAll, v, v, 0x4e));
  v = _mm512_maskz_min_ps(kAll, v, _mm512_maskz_shuffle_f32x4(kAll, v, v, 0xb1));
  v = _mm512_maskz_min_ps(kAll, v, _mm512_maskz_permute_ps(kAll, v, 0x4e));
  return _mm512_maskz_min_ps(kAll, v, _mm512_maskz_permute_ps(kAll, v, 0xb1));
}
__m512i all_min(__m512i v) {
  v = _mm512_maskz_min_epi32(kAll, v, _mm512_maskz_shuffle_i32x4(kAll, v, v, 0x4e));
  v = _mm512_maskz_min_epi32(kAll, v, _mm512_maskz_shuffle_i32x4(kAll, v, v, 0xb1));
  v = _mm512_maskz_min_epi32(kAll, v, _mm512_maskz_shuffle_epi32(kAll, v, _MM_PERM_BADC));
  return _mm512_maskz_min_epi32(kAll, v, _mm512_maskz_shuffle_epi32(kAll, v, _MM_PERM_CDAB));
}

__m512i min_u64(__m512i a, __m512i b) { return _mm512_maskz_min_epu64(0xff, a, b); }

struct Lane16 {
  __m512 value = _mm512_set1_ps(FLT_MAX);
  __m512i position = _mm512_set1_epi32(lanes::kNoPosition);

  void take_smaller(__m512 v, __m512i at, __mmask16 valid) {
    const __mmask16 smaller = _mm512_mask_cmp_ps_mask(valid, v, value, _CMP_LT_OQ);
    value = _mm512_mask_blend_ps(smaller, value, v);
    position = _mm512_mask_blend_epi32(smaller, position, at);
  }
  // The first smallest value: the smallest value, ties to the smallest position.
  void reduce(int& out_position, float& out_value) const {
    const __m512 smallest = all_min(value);
    const __mmask16 at_min = _mm512_cmp_ps_mask(value, smallest, _CMP_EQ_OQ);
    const __m512i first =
        all_min(_mm512_mask_blend_epi32(at_min, _mm512_set1_epi32(lanes::kNoPosition), position));
    alignas(64) int32_t at[16];
    alignas(64) float v[16];
    _mm512_store_si512(at, first);
    _mm512_store_ps(v, smallest);
    out_position = at[0] == lanes::kNoPosition ? 0 : at[0];
    out_value = v[0];
  }
};

// The flips are a template argument: without them the loop keeps fewer tables in registers and
// has no branch.
template <int kSize, int kBits, FlipSearch kFlips>
ScanBest scan(const LevelTables& t, std::span<const uint16_t> codes) {
  constexpr FlipSearch flips = kFlips;
  __m512 cost[kSize], flip[kSize];
  for (int j = 0; j < kSize; ++j) {
    cost[j] = _mm512_load_ps(t.cost[j]);
    flip[j] = flips == FlipSearch::kNone ? _mm512_setzero_ps() : _mm512_load_ps(t.flip[j]);
  }
  constexpr bool with_flips = flips == FlipSearch::kCheapestFlip;
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
      if constexpr (with_flips) p = _mm512_maskz_min_ps(kAll, permute(level, flip[j]), p);
    }
    natural.take_smaller(c, position, valid);
    if constexpr (with_flips) flipped.take_smaller(_mm512_add_ps(c, p), position, valid);
    position = _mm512_add_epi32(position, _mm512_set1_epi32(16));
  }
  ScanBest best;
  natural.reduce(best.natural, best.natural_cost);
  if constexpr (with_flips) flipped.reduce(best.flipped, best.flipped_cost);
  return best;
}

// ggml's neighbour choice with its terms tabulated in two registers: entry stride*j + level of
// the 32 is element j's term at that level (stride 4 for groups of 8, 8 for groups of 4).
template <int kSize, int kBits>
int nearest(const float* xval, const float* waux, float scale, std::span<const uint16_t> codes) {
  constexpr int kStride = 32 / kSize;
  constexpr int kMask = (1 << kBits) - 1;
  const auto element_mask = static_cast<__mmask16>((1u << kSize) - 1);
  const __m512 x = _mm512_maskz_loadu_ps(element_mask, xval);
  const __m512 w = _mm512_maskz_loadu_ps(element_mask, waux);
  static constexpr lanes::TermTableLayout<kStride, 16> kLayout{};
  __m512 table[2];
  for (int half = 0; half < 2; ++half) {
    const __m512i e = _mm512_load_si512(kLayout.element[half]);
    const __m512 diff = _mm512_sub_ps(
        _mm512_mul_ps(_mm512_set1_ps(scale), _mm512_load_ps(kLayout.q[half])), permute(e, x));
    table[half] = _mm512_mul_ps(_mm512_mul_ps(permute(e, w), diff), diff);
  }
  // Each candidate's key: its sum's bits (ordered like the non-negative floats they are) above
  // its position, so one unsigned minimum finds the first smallest sum. Lanes past the end
  // get all ones.
  __m512i smallest = _mm512_set1_epi64(-1);
  __m512i position = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const size_t n = codes.size();
  for (size_t k = 0; k < n; k += 16) {
    const __mmask16 past = n - k >= 16 ? 0 : static_cast<__mmask16>(~((1u << (n - k)) - 1));
    const __m512i code = _mm512_maskz_cvtepu16_epi32(
        kAll, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes.data() + k)));
    __m512 d2 = _mm512_setzero_ps();
    for (int j = 0; j < kSize; ++j) {
      const __m512i level =
          _mm512_and_si512(shift_right(code, kBits * j), _mm512_set1_epi32(kMask));
      const __m512i entry = _mm512_or_si512(level, _mm512_set1_epi32(kStride * j));
      const __m512 term = _mm512_permutex2var_ps(table[0], entry, table[1]);
      d2 = j == 0 ? term : _mm512_add_ps(d2, term);
    }
    const __m512i bits =
        _mm512_mask_blend_epi32(past, _mm512_castps_si512(d2), _mm512_set1_epi32(-1));
    const __m512i low = _mm512_maskz_unpacklo_epi32(kAll, position, bits);
    const __m512i high = _mm512_maskz_unpackhi_epi32(kAll, position, bits);
    smallest = min_u64(smallest, min_u64(low, high));
    position = _mm512_add_epi32(position, _mm512_set1_epi32(16));
  }
  smallest = min_u64(smallest, _mm512_maskz_shuffle_i64x2(0xff, smallest, smallest, 0x4e));
  smallest = min_u64(smallest, _mm512_maskz_shuffle_i64x2(0xff, smallest, smallest, 0xb1));
  smallest = min_u64(smallest, _mm512_maskz_shuffle_epi32(kAll, smallest, _MM_PERM_BADC));
  alignas(64) uint64_t key[8];
  _mm512_store_si512(key, smallest);
  // ggml's loop takes only sums below FLT_MAX, else keeps the first candidate.
  return (key[0] >> 32) < std::bit_cast<uint32_t>(FLT_MAX) ? static_cast<int>(key[0] & 0xffffffffu)
                                                           : 0;
}

template <FlipSearch kFlips>
ScanBest scan_shape(const LevelTables& t, std::span<const uint16_t> codes) {
  if (t.field_bits == 4) return scan<4, 4, kFlips>(t, codes);
  return t.fields == 8 ? scan<8, 2, kFlips>(t, codes) : scan<4, 3, kFlips>(t, codes);
}

}  // namespace

void round_levels_avx512(const float* x, int n, float id, int max_level, int8_t* L) {
  const __m512 vid = _mm512_set1_ps(id);
  for (int i = 0; i < n; i += 16) {
    const __m512 v = _mm512_mul_ps(
        _mm512_set1_ps(0.5f),
        _mm512_sub_ps(_mm512_mul_ps(vid, _mm512_loadu_ps(x + i)), _mm512_set1_ps(1.f)));
    const __m512i bits = _mm512_castps_si512(_mm512_add_ps(v, _mm512_set1_ps(12582912.f)));
    __m512i l = _mm512_sub_epi32(_mm512_and_si512(bits, _mm512_set1_epi32(0x007fffff)),
                                 _mm512_set1_epi32(0x00400000));
    l = _mm512_maskz_min_epi32(kAll, _mm512_maskz_max_epi32(kAll, l, _mm512_setzero_si512()),
                               _mm512_set1_epi32(max_level));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(L + i), _mm512_maskz_cvtepi32_epi8(kAll, l));
  }
}

int nearest_candidate_avx512(LatticeShape shape, const float* xval, const float* waux, float scale,
                             std::span<const uint16_t> codes) {
  return shape.group_size == 8 ? nearest<8, 2>(xval, waux, scale, codes)
                               : nearest<4, 3>(xval, waux, scale, codes);
}

ScanBest scan_codes_avx512(const LevelTables& t, std::span<const uint16_t> codes,
                           FlipSearch flips) {
  if (flips == FlipSearch::kCheapestFlip) return scan_shape<FlipSearch::kCheapestFlip>(t, codes);
  return scan_shape<FlipSearch::kNone>(t, codes);
}

}  // namespace qmix::iq2
