// scan_codes in AVX2 lanes: eight candidates per pass (same positions as the scalar loop).
#include <immintrin.h>

#include <array>
#include <cstring>
#include <utility>

#include "quant/iq2_scan_lanes.h"

namespace qmix::iq2 {
namespace {

struct Lane8 {
  __m256 value = _mm256_set1_ps(FLT_MAX);
  __m256i position = _mm256_set1_epi32(lanes::kNoPosition);

  void take_smaller(__m256 v, __m256i at) {
    const __m256 smaller = _mm256_cmp_ps(v, value, _CMP_LT_OQ);
    value = _mm256_min_ps(v, value);  // v < value ? v : value, as the blend by `smaller`
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

// A 16-entry table in two registers; with fields of 3 bits or fewer its upper half repeats the
// lower one, so a single permute reads it.
template <int kBits>
struct Table16 {
  __m256 low = _mm256_setzero_ps(), high = _mm256_setzero_ps();
  Table16() = default;
  explicit Table16(const float* t) : low(_mm256_load_ps(t)), high(_mm256_load_ps(t + 8)) {}
  __m256 operator[](__m256i index) const {  // the low 4 bits of each lane
    const __m256 a = _mm256_permutevar8x32_ps(low, index);
    if constexpr (kBits < 4) return a;
    const __m256 upper = _mm256_castsi256_ps(_mm256_slli_epi32(index, 28));  // bit 3 to the sign
    return _mm256_blendv_ps(a, _mm256_permutevar8x32_ps(high, index), upper);
  }
};

template <int kSize, int kBits>
std::array<Table16<kBits>, kSize> tables(const float (&t)[8][16]) {
  return [&]<size_t... j>(std::index_sequence<j...>) {
    return std::array<Table16<kBits>, kSize>{Table16<kBits>(t[j])...};
  }
  (std::make_index_sequence<kSize>());
}

// The flips are a template argument: without them the loop keeps fewer tables in registers and
// has no branch.
template <int kSize, int kBits, FlipSearch kFlips>
ScanBest scan(const LevelTables& t, std::span<const uint16_t> codes) {
  constexpr FlipSearch flips = kFlips;
  std::array<Table16<kBits>, kSize> cost = tables<kSize, kBits>(t.cost);
  std::array<Table16<kBits>, kSize> flip{};
  if (flips == FlipSearch::kCheapestFlip) flip = tables<kSize, kBits>(t.flip);
  constexpr bool with_flips = flips == FlipSearch::kCheapestFlip;
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
    __m256 c = cost[0][code];
    __m256 p = flip[0][code];
    for (int j = 1; j < kSize; ++j) {
      const __m256i level = _mm256_srli_epi32(code, kBits * j);
      c = _mm256_add_ps(c, cost[static_cast<size_t>(j)][level]);
      if constexpr (with_flips) p = _mm256_min_ps(flip[static_cast<size_t>(j)][level], p);
    }
    if (n - k < 8) {  // lanes past the end never win
      const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
      const __m256 past = _mm256_castsi256_ps(
          _mm256_cmpgt_epi32(lane, _mm256_set1_epi32(static_cast<int>(n - k) - 1)));
      c = _mm256_blendv_ps(c, _mm256_set1_ps(FLT_MAX), past);
      p = _mm256_blendv_ps(p, _mm256_set1_ps(FLT_MAX), past);
    }
    natural.take_smaller(c, position);
    if constexpr (with_flips) flipped.take_smaller(_mm256_add_ps(c, p), position);
    position = _mm256_add_epi32(position, _mm256_set1_epi32(8));
  }
  ScanBest best;
  natural.reduce(best.natural, best.natural_cost);
  if constexpr (with_flips) flipped.reduce(best.flipped, best.flipped_cost);
  return best;
}

// ggml's neighbour choice with its terms tabulated in four registers.
template <int kSize, int kBits>
int nearest(const float* xval, const float* waux, float scale, std::span<const uint16_t> codes) {
  constexpr int kStride = 32 / kSize;
  constexpr int kMask = (1 << kBits) - 1;
  __m256 x, w;
  if constexpr (kSize == 8) {
    x = _mm256_loadu_ps(xval);
    w = _mm256_loadu_ps(waux);
  } else {
    x = _mm256_set_m128(_mm_setzero_ps(), _mm_loadu_ps(xval));
    w = _mm256_set_m128(_mm_setzero_ps(), _mm_loadu_ps(waux));
  }
  static constexpr lanes::TermTableLayout<kStride, 8> kLayout{};
  __m256 table[4];
  for (int r = 0; r < 4; ++r) {
    const __m256i e = _mm256_load_si256(reinterpret_cast<const __m256i*>(kLayout.element[r]));
    const __m256 diff =
        _mm256_sub_ps(_mm256_mul_ps(_mm256_set1_ps(scale), _mm256_load_ps(kLayout.q[r])),
                      _mm256_permutevar8x32_ps(x, e));
    table[r] = _mm256_mul_ps(_mm256_mul_ps(_mm256_permutevar8x32_ps(w, e), diff), diff);
  }
  Lane8 best;
  __m256i position = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i lane = position;
  const size_t n = codes.size();
  for (size_t k = 0; k < n; k += 8) {  // the codes are readable past their end
    const __m256i code =
        _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(codes.data() + k)));
    __m256 d2 = _mm256_setzero_ps();
    for (int j = 0; j < kSize; ++j) {
      __m256i entry =
          _mm256_and_si256(_mm256_srli_epi32(code, kBits * j), _mm256_set1_epi32(kMask));
      if constexpr (kStride < 8)
        entry = _mm256_or_si256(entry, _mm256_set1_epi32((kStride * j) % 8));
      const __m256 term = _mm256_permutevar8x32_ps(table[kStride * j / 8], entry);
      d2 = j == 0 ? term : _mm256_add_ps(d2, term);
    }
    if (n - k < 8) {  // lanes past the end never win
      const __m256 past = _mm256_castsi256_ps(
          _mm256_cmpgt_epi32(lane, _mm256_set1_epi32(static_cast<int>(n - k) - 1)));
      d2 = _mm256_blendv_ps(d2, _mm256_set1_ps(FLT_MAX), past);
    }
    best.take_smaller(d2, position);
    position = _mm256_add_epi32(position, _mm256_set1_epi32(8));
  }
  int at = 0;
  float value = 0;
  best.reduce(at, value);
  return at;
}

template <FlipSearch kFlips>
ScanBest scan_shape(const LevelTables& t, std::span<const uint16_t> codes) {
  if (t.field_bits == 4) return scan<4, 4, kFlips>(t, codes);
  return t.fields == 8 ? scan<8, 2, kFlips>(t, codes) : scan<4, 3, kFlips>(t, codes);
}

}  // namespace

int nearest_candidate_avx2(LatticeShape shape, const float* xval, const float* waux, float scale,
                           std::span<const uint16_t> codes) {
  return shape.group_size == 8 ? nearest<8, 2>(xval, waux, scale, codes)
                               : nearest<4, 3>(xval, waux, scale, codes);
}

void round_levels_avx2(const float* x, int n, float id, int max_level, int8_t* L) {
  const __m256 vid = _mm256_set1_ps(id);
  for (int i = 0; i < n; i += 8) {
    const __m256 v = _mm256_mul_ps(
        _mm256_set1_ps(0.5f),
        _mm256_sub_ps(_mm256_mul_ps(vid, _mm256_loadu_ps(x + i)), _mm256_set1_ps(1.f)));
    const __m256i bits = _mm256_castps_si256(_mm256_add_ps(v, _mm256_set1_ps(12582912.f)));
    __m256i l = _mm256_sub_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                                 _mm256_set1_epi32(0x00400000));
    l = _mm256_min_epi32(_mm256_max_epi32(l, _mm256_setzero_si256()), _mm256_set1_epi32(max_level));
    alignas(32) int32_t out[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(out), l);
    for (int j = 0; j < 8; ++j) L[i + j] = static_cast<int8_t>(out[j]);
  }
}

ScanBest scan_codes_avx2(const LevelTables& t, std::span<const uint16_t> codes, FlipSearch flips) {
  if (flips == FlipSearch::kCheapestFlip) return scan_shape<FlipSearch::kCheapestFlip>(t, codes);
  return scan_shape<FlipSearch::kNone>(t, codes);
}

}  // namespace qmix::iq2
