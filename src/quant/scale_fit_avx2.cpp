// The lane kernels of scale_fit_lanes.h: one candidate per lane, the scalar float steps in the
// scalar order (compiled without contraction), so each lane equals the scalar reference.
#include <immintrin.h>

#include "quant/scale_fit_lanes.h"

namespace qmix::scale_fit::lanes {
namespace {

__m256 set1(float v) { return _mm256_set1_ps(v); }

// nearest_int's float trick (add 1.5 * 2^23, keep the mantissa), lane by lane.
__m256i nearest(__m256 v) {
  const __m256i bits = _mm256_castps_si256(_mm256_add_ps(v, set1(12582912.f)));
  return _mm256_sub_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                          _mm256_set1_epi32(0x00400000));
}

__m256i clamp_epi32(__m256i v, int lo, int hi) {
  return _mm256_min_epi32(_mm256_max_epi32(v, _mm256_set1_epi32(lo)), _mm256_set1_epi32(hi));
}

// scan_level: kClampRounded clamps the rounded value; kRoundClamped rounds min(v, nmax) where
// v > 0 and gives 0 elsewhere (NaN included).
__m256i scan_levels(__m256 v, int nmax, ScanRounding rounding) {
  if (rounding == ScanRounding::kClampRounded) return clamp_epi32(nearest(v), 0, nmax);
  const __m256i rounded = nearest(_mm256_min_ps(v, set1(static_cast<float>(nmax))));
  const __m256 positive = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ);
  return _mm256_and_si256(rounded, _mm256_castps_si256(positive));
}

void store(float* dst, __m256 v) { _mm256_storeu_ps(dst, v); }

}  // namespace

void affine_candidates_avx2(const AffineBatch& b, AffineLanes& out) {
  const __m256 step = _mm256_cvtepi32_ps(
      _mm256_add_epi32(_mm256_set1_epi32(b.first_step), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
  const __m256 iscale = _mm256_div_ps(
      _mm256_add_ps(_mm256_add_ps(set1(b.scan.rmin), _mm256_mul_ps(set1(b.scan.rdelta), step)),
                    set1(static_cast<float>(b.nmax))),
      set1(b.max - b.min));
  __m256 sum_l = _mm256_setzero_ps(), sum_l2 = sum_l, sum_xl = sum_l;
  for (int i = 0; i < b.n; ++i) {
    const __m256 v = _mm256_mul_ps(iscale, set1(b.x[i] - b.min));
    const __m256 fl = _mm256_cvtepi32_ps(scan_levels(v, b.nmax, b.scan.rounding));
    _mm256_store_ps(out.level[i], fl);
    const __m256 wl = _mm256_mul_ps(set1(b.w[i]), fl);
    sum_l = _mm256_add_ps(sum_l, wl);
    sum_l2 = _mm256_add_ps(sum_l2, _mm256_mul_ps(wl, fl));
    sum_xl = _mm256_add_ps(sum_xl, _mm256_mul_ps(wl, set1(b.x[i])));
  }
  const __m256 sw = set1(b.sum_w), sx = set1(b.sum_x);
  const __m256 det = _mm256_sub_ps(_mm256_mul_ps(sw, sum_l2), _mm256_mul_ps(sum_l, sum_l));
  const __m256 valid = _mm256_cmp_ps(det, _mm256_setzero_ps(), _CMP_GT_OQ);
  __m256 scale =
      _mm256_div_ps(_mm256_sub_ps(_mm256_mul_ps(sw, sum_xl), _mm256_mul_ps(sx, sum_l)), det);
  __m256 min =
      _mm256_div_ps(_mm256_sub_ps(_mm256_mul_ps(sum_l2, sx), _mm256_mul_ps(sum_l, sum_xl)), det);
  // A positive min is replaced by 0 with the scale refitted alone, as the scalar fit does.
  const __m256 positive = _mm256_cmp_ps(min, _mm256_setzero_ps(), _CMP_GT_OQ);
  min = _mm256_blendv_ps(min, _mm256_setzero_ps(), positive);
  scale = _mm256_blendv_ps(scale, _mm256_div_ps(sum_xl, sum_l2), positive);
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 error = _mm256_setzero_ps();
  for (int i = 0; i < b.n; ++i) {
    __m256 diff = _mm256_sub_ps(
        _mm256_add_ps(_mm256_mul_ps(scale, _mm256_load_ps(out.level[i])), min), set1(b.x[i]));
    diff = b.scan.norm == ErrorNorm::kAbsolute ? _mm256_and_ps(diff, abs_mask)
                                               : _mm256_mul_ps(diff, diff);
    error = _mm256_add_ps(error, _mm256_mul_ps(set1(b.w[i]), diff));
  }
  store(out.scale, scale);
  store(out.min, min);
  store(out.error, error);
  const int valid_bits = _mm256_movemask_ps(valid);
  for (int k = 0; k < kLanes; ++k) out.valid[k] = (valid_bits >> k) & 1;
}

void symmetric_candidates_avx2(const float* x, const float* w, int n, int nmax,
                               const float* iscales, SymmetricLanes& out) {
  const __m256 iscale = _mm256_loadu_ps(iscales);
  __m256 sumlx = _mm256_setzero_ps(), suml2 = sumlx;
  for (int i = 0; i < n; ++i) {
    const __m256i l = clamp_epi32(nearest(_mm256_mul_ps(iscale, set1(x[i]))), -nmax, nmax - 1);
    const __m256 fl = _mm256_cvtepi32_ps(l);
    sumlx = _mm256_add_ps(sumlx, _mm256_mul_ps(set1(w[i] * x[i]), fl));
    suml2 = _mm256_add_ps(suml2, _mm256_mul_ps(_mm256_mul_ps(set1(w[i]), fl), fl));
  }
  store(out.sumlx, sumlx);
  store(out.suml2, suml2);
}

namespace {

// fit_symmetric_moves for one bank of eight groups, one per lane: ggml's float steps in order.
struct MoveBank {
  __m256 amax, sumlx, suml2;
  __m256i level[kMaxValues];
  bool active = true;

  // The largest magnitude (the first of equal ones), the levels rounded at -nmax / max and
  // their x²-weighted sums. Value i of the eight groups is at values + i * stride.
  void start(const float* values, int stride, int n, int nmax) {
    __m256 max = _mm256_setzero_ps();
    amax = max;
    for (int i = 0; i < n; ++i) {
      const __m256 xi = _mm256_load_ps(values + i * stride);
      const __m256 ax = _mm256_andnot_ps(set1(-0.f), xi);
      const __m256 larger = _mm256_cmp_ps(ax, amax, _CMP_GT_OQ);
      amax = _mm256_blendv_ps(amax, ax, larger);
      max = _mm256_blendv_ps(max, xi, larger);
    }
    const __m256 iscale = _mm256_div_ps(set1(static_cast<float>(-nmax)), max);
    sumlx = suml2 = _mm256_setzero_ps();
    for (int i = 0; i < n; ++i) {
      const __m256 xi = _mm256_load_ps(values + i * stride);
      level[i] = clamp_epi32(nearest(_mm256_mul_ps(iscale, xi)), -nmax, nmax - 1);
      const __m256 w = _mm256_mul_ps(xi, xi), fl = _mm256_cvtepi32_ps(level[i]);
      sumlx = _mm256_add_ps(sumlx, _mm256_mul_ps(_mm256_mul_ps(w, xi), fl));
      suml2 = _mm256_add_ps(suml2, _mm256_mul_ps(_mm256_mul_ps(w, fl), fl));
    }
  }

  // move_levels' step at value i; returns the lanes that moved it.
  __m256 move(__m256 xi, int i, int nmax) {
    const __m256 w = _mm256_mul_ps(xi, xi), wx = _mm256_mul_ps(w, xi);
    const __m256 old = _mm256_cvtepi32_ps(level[i]);
    __m256 slx = _mm256_sub_ps(sumlx, _mm256_mul_ps(wx, old));
    __m256 sl2 = _mm256_sub_ps(suml2, _mm256_mul_ps(_mm256_mul_ps(w, old), old));
    const __m256 positive = _mm256_cmp_ps(slx, _mm256_setzero_ps(), _CMP_GT_OQ);
    const __m256i l =
        clamp_epi32(nearest(_mm256_div_ps(_mm256_mul_ps(xi, sl2), slx)), -nmax, nmax - 1);
    const __m256 moved =
        _mm256_andnot_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(l, level[i])), positive);
    const __m256 fl = _mm256_cvtepi32_ps(l);
    slx = _mm256_add_ps(slx, _mm256_mul_ps(wx, fl));
    sl2 = _mm256_add_ps(sl2, _mm256_mul_ps(_mm256_mul_ps(w, fl), fl));
    const __m256 better =
        _mm256_and_ps(_mm256_cmp_ps(sl2, _mm256_setzero_ps(), _CMP_GT_OQ),
                      _mm256_cmp_ps(_mm256_mul_ps(_mm256_mul_ps(slx, slx), suml2),
                                    _mm256_mul_ps(_mm256_mul_ps(sumlx, sumlx), sl2), _CMP_GT_OQ));
    const __m256 take = _mm256_and_ps(moved, better);
    level[i] = _mm256_castps_si256(
        _mm256_blendv_ps(_mm256_castsi256_ps(level[i]), _mm256_castsi256_ps(l), take));
    sumlx = _mm256_blendv_ps(sumlx, slx, take);
    suml2 = _mm256_blendv_ps(suml2, sl2, take);
    return take;
  }

  // Scales and levels of the eight groups; those below kGroupMaxEps are zero, as in the
  // scalar fit.
  void store_result(int n, int nmax, float* scales, uint8_t* levels) const {
    const __m256 live = _mm256_cmp_ps(amax, set1(kGroupMaxEps), _CMP_GE_OQ);
    const __m256 positive = _mm256_cmp_ps(suml2, _mm256_setzero_ps(), _CMP_GT_OQ);
    store(scales, _mm256_and_ps(_mm256_and_ps(live, positive), _mm256_div_ps(sumlx, suml2)));
    alignas(32) int32_t row[kLanes];
    const int live_bits = _mm256_movemask_ps(live);
    for (int i = 0; i < n; ++i) {
      _mm256_store_si256(reinterpret_cast<__m256i*>(row), level[i]);
      for (int k = 0; k < kLanes; ++k)
        levels[k * n + i] = static_cast<uint8_t>((live_bits >> k) & 1 ? row[k] + nmax : 0);
    }
  }
};

// Banks of eight lanes run in one loop: each lane's chain of moves is sequential, so the other
// banks' chains fill one bank's latency.
template <int kBanks>
void symmetric_moves(const float* x, int n, int nmax, float* scales, uint8_t* levels) {
  constexpr int kGroups = kBanks * kLanes;
  alignas(32) float xt[kMaxValues][kGroups];  // xt[i][g]: value i of group g
  for (int g = 0; g < kGroups; ++g)
    for (int i = 0; i < n; ++i) xt[i][g] = x[g * n + i];
  MoveBank bank[kBanks];
  for (int h = 0; h < kBanks; ++h) bank[h].start(xt[0] + kLanes * h, kGroups, n, nmax);
  // move_levels' rounds; a lane whose round changed nothing would change nothing again, so
  // running on until every lane of a bank is done gives each lane the scalar result.
  for (int round = 0; round < 5; ++round) {
    __m256 changed[kBanks];
    for (int h = 0; h < kBanks; ++h) changed[h] = _mm256_setzero_ps();
    for (int i = 0; i < n; ++i)
      for (int h = 0; h < kBanks; ++h)
        if (bank[h].active)
          changed[h] =
              _mm256_or_ps(changed[h], bank[h].move(_mm256_load_ps(xt[i] + kLanes * h), i, nmax));
    bool any = false;
    for (int h = 0; h < kBanks; ++h) {
      bank[h].active = bank[h].active && _mm256_movemask_ps(changed[h]) != 0;
      any = any || bank[h].active;
    }
    if (!any) break;
  }
  for (int h = 0; h < kBanks; ++h)
    bank[h].store_result(n, nmax, scales + kLanes * h, levels + kLanes * h * n);
}

}  // namespace

void symmetric_moves_avx2(const float* x, int groups, int n, int nmax, float* scales,
                          uint8_t* levels) {
  if (groups == 2 * kMovesGroups)
    symmetric_moves<4>(x, n, nmax, scales, levels);
  else
    symmetric_moves<2>(x, n, nmax, scales, levels);
}

void codebook_candidates_avx2(const float* x, const float* w, int n, const int8_t* values,
                              const float* ids, CodebookLanes& out) {
  // The index nearest_level_index finds by bisection is the number of midpoints (as sums of
  // neighbours, compared with 2x) at or below 2x: the sums increase strictly.
  __m256 threshold[15];
  for (int j = 1; j < 16; ++j)
    threshold[j - 1] = set1(static_cast<float>(values[j - 1] + values[j]));
  const __m256 low = _mm256_setr_ps(values[0], values[1], values[2], values[3], values[4],
                                    values[5], values[6], values[7]);
  const __m256 high = _mm256_setr_ps(values[8], values[9], values[10], values[11], values[12],
                                     values[13], values[14], values[15]);
  const __m256 id = _mm256_loadu_ps(ids);
  __m256 sumqx = _mm256_setzero_ps(), sumq2 = sumqx;
  for (int i = 0; i < n; ++i) {
    const __m256 v = _mm256_mul_ps(id, set1(x[i]));
    const __m256 v2 = _mm256_add_ps(v, v);
    __m256i index = _mm256_setzero_si256();
    for (const __m256 t : threshold)
      index = _mm256_sub_epi32(index, _mm256_castps_si256(_mm256_cmp_ps(v2, t, _CMP_GE_OQ)));
    const __m256 upper = _mm256_castsi256_ps(_mm256_cmpgt_epi32(index, _mm256_set1_epi32(7)));
    const __m256 q = _mm256_blendv_ps(_mm256_permutevar8x32_ps(low, index),
                                      _mm256_permutevar8x32_ps(high, index), upper);
    const __m256 wq = _mm256_mul_ps(set1(w[i]), q);
    sumqx = _mm256_add_ps(sumqx, _mm256_mul_ps(wq, set1(x[i])));
    sumq2 = _mm256_add_ps(sumq2, _mm256_mul_ps(wq, q));
  }
  store(out.sumqx, sumqx);
  store(out.sumq2, sumq2);
}

}  // namespace qmix::scale_fit::lanes
