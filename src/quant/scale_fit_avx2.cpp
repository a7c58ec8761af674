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
