// The search's candidate kernel (k_quants_measure.h) with sixteen candidates per pass, one per
// AVX-512 lane; each lane takes the AVX2 and scalar versions' float steps, so all three return
// the same errors.
#include <immintrin.h>

#include "quant/k_quants_measure.h"

namespace qmix::kquant {
namespace {

// GCC 12's unmasked max/min/roundscale intrinsics pass an undefined source that -Werror's
// maybe-uninitialized rejects; the zero-masked forms with every lane on are the same
// instructions.
constexpr __mmask16 kAll = 0xFFFF;
__m512 max_ps(__m512 a, __m512 b) { return _mm512_maskz_max_ps(kAll, a, b); }
__m512 min_ps(__m512 a, __m512 b) { return _mm512_maskz_min_ps(kAll, a, b); }
__m512 round_ps(__m512 v) {
  return _mm512_maskz_roundscale_ps(kAll, v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

template <bool kAffine>
__m512 candidate_errors(const float* x, const float* w, const Format& f, __m512 dl, __m512 ml) {
  const __m512 zero = _mm512_setzero_ps();
  const __mmask16 nonzero = _mm512_cmp_ps_mask(dl, zero, _CMP_NEQ_UQ);
  const __m512 inverse = _mm512_maskz_div_ps(nonzero, _mm512_set1_ps(1.f), dl);
  const __m512 shift = kAffine ? ml : zero;
  const __m512 bias = _mm512_set1_ps(static_cast<float>(f.bias));
  const __m512 top = _mm512_set1_ps(static_cast<float>(f.max_level));
  __m512 error = zero;
  for (int i = 0; i < f.sub_block; ++i) {
    const __m512 shifted = _mm512_add_ps(_mm512_set1_ps(x[i]), shift);
    __m512 v = _mm512_add_ps(_mm512_mul_ps(shifted, inverse), bias);
    v = min_ps(max_ps(v, zero), top);  // NaN → 0, as the scalar loop
    const __m512 l = round_ps(v);
    // (x + ml) - dl * (level - bias), fused as the scalar loop's std::fma.
    const __m512 diff = _mm512_fnmadd_ps(dl, kAffine ? l : _mm512_sub_ps(l, bias), shifted);
    error = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(w[i]), diff), diff, error);
  }
  return error;
}

}  // namespace

void measure_candidates_avx512(const float* x, const float* w, const Format& f, const float* dl,
                               const float* ml, int count, float* error) {
  int c = 0;
  for (; count - c > kMeasureLanes; c += kCandidateLanesAvx512) {
    const __m512 dls = _mm512_loadu_ps(dl + c), mls = _mm512_loadu_ps(ml + c);
    _mm512_storeu_ps(error + c, f.affine() ? candidate_errors<true>(x, w, f, dls, mls)
                                           : candidate_errors<false>(x, w, f, dls, mls));
  }
  // A last pass of at most eight candidates costs half as much in AVX2 lanes.
  if (c < count) measure_candidates_avx2(x, w, f, dl + c, ml + c, count - c, error + c);
}

}  // namespace qmix::kquant
