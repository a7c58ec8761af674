// fit_affine's lane kernel (scale_fit_lanes.h) with sixteen scan steps per pass: each lane
// takes the AVX2 kernel's (and so the scalar fit's) float steps in the same order, so the
// fit's bytes are unchanged.
#include <immintrin.h>

#include "quant/scale_fit_lanes.h"

namespace qmix::scale_fit::lanes {
namespace {

// GCC 12's unmasked min/max/convert intrinsics pass an undefined source that -Werror's
// maybe-uninitialized rejects; the zero-masked forms with every lane on are the same
// instructions.
constexpr __mmask16 kAll = 0xFFFF;

__m512 set1(float v) { return _mm512_set1_ps(v); }
__m512 min_ps(__m512 a, __m512 b) { return _mm512_maskz_min_ps(kAll, a, b); }
__m512 to_float(__m512i v) { return _mm512_maskz_cvtepi32_ps(kAll, v); }

// nearest_int's float trick (add 1.5 * 2^23, keep the mantissa), lane by lane.
__m512i nearest(__m512 v) {
  const __m512i bits = _mm512_castps_si512(_mm512_add_ps(v, set1(12582912.f)));
  return _mm512_sub_epi32(_mm512_and_si512(bits, _mm512_set1_epi32(0x007fffff)),
                          _mm512_set1_epi32(0x00400000));
}

__m512i clamp_epi32(__m512i v, int lo, int hi) {
  return _mm512_maskz_min_epi32(kAll, _mm512_maskz_max_epi32(kAll, v, _mm512_set1_epi32(lo)),
                                _mm512_set1_epi32(hi));
}

// scan_level: kClampRounded clamps the rounded value; kRoundClamped rounds min(v, nmax) where
// v > 0 and gives 0 elsewhere (NaN included: min gives nmax, the compare false).
__m512i scan_levels(__m512 v, int nmax, ScanRounding rounding) {
  if (rounding == ScanRounding::kClampRounded) return clamp_epi32(nearest(v), 0, nmax);
  const __m512i rounded = nearest(min_ps(v, set1(static_cast<float>(nmax))));
  const __mmask16 positive = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ);
  return _mm512_maskz_mov_epi32(positive, rounded);
}

}  // namespace

void affine_candidates_avx512(const AffineBatch& b, AffineLanes& out) {
  const __m512 step = to_float(
      _mm512_add_epi32(_mm512_set1_epi32(b.first_step),
                       _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)));
  const __m512 iscale = _mm512_div_ps(
      _mm512_add_ps(_mm512_add_ps(set1(b.scan.rmin), _mm512_mul_ps(set1(b.scan.rdelta), step)),
                    set1(static_cast<float>(b.nmax))),
      set1(b.max - b.min));
  __m512 sum_l = _mm512_setzero_ps(), sum_l2 = sum_l, sum_xl = sum_l;
  for (int i = 0; i < b.n; ++i) {
    const __m512 v = _mm512_mul_ps(iscale, set1(b.x[i] - b.min));
    const __m512 fl = to_float(scan_levels(v, b.nmax, b.scan.rounding));
    _mm512_store_ps(out.level[i], fl);
    const __m512 wl = _mm512_mul_ps(set1(b.w[i]), fl);
    sum_l = _mm512_add_ps(sum_l, wl);
    sum_l2 = _mm512_add_ps(sum_l2, _mm512_mul_ps(wl, fl));
    sum_xl = _mm512_add_ps(sum_xl, _mm512_mul_ps(wl, set1(b.x[i])));
  }
  const __m512 zero = _mm512_setzero_ps();
  const __m512 sw = set1(b.sum_w), sx = set1(b.sum_x);
  const __m512 det = _mm512_sub_ps(_mm512_mul_ps(sw, sum_l2), _mm512_mul_ps(sum_l, sum_l));
  const __mmask16 valid = _mm512_cmp_ps_mask(det, zero, _CMP_GT_OQ);
  __m512 scale =
      _mm512_div_ps(_mm512_sub_ps(_mm512_mul_ps(sw, sum_xl), _mm512_mul_ps(sx, sum_l)), det);
  __m512 min =
      _mm512_div_ps(_mm512_sub_ps(_mm512_mul_ps(sum_l2, sx), _mm512_mul_ps(sum_l, sum_xl)), det);
  // A positive min is replaced by 0 with the scale refitted alone, as the scalar fit does.
  const __mmask16 positive = _mm512_cmp_ps_mask(min, zero, _CMP_GT_OQ);
  min = _mm512_mask_blend_ps(positive, min, zero);
  scale = _mm512_mask_blend_ps(positive, scale, _mm512_div_ps(sum_xl, sum_l2));
  const __m512i abs_mask = _mm512_set1_epi32(0x7fffffff);
  __m512 error = zero;
  for (int i = 0; i < b.n; ++i) {
    __m512 diff = _mm512_sub_ps(
        _mm512_add_ps(_mm512_mul_ps(scale, _mm512_load_ps(out.level[i])), min), set1(b.x[i]));
    diff = b.scan.norm == ErrorNorm::kAbsolute
               ? _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(diff), abs_mask))
               : _mm512_mul_ps(diff, diff);
    error = _mm512_add_ps(error, _mm512_mul_ps(set1(b.w[i]), diff));
  }
  _mm512_storeu_ps(out.scale, scale);
  _mm512_storeu_ps(out.min, min);
  _mm512_storeu_ps(out.error, error);
  for (int k = 0; k < kAffineLanesAvx512; ++k) out.valid[k] = (valid >> k) & 1;
}

}  // namespace qmix::scale_fit::lanes
