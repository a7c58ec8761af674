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

int first_least_avx512(const float* error, int count) {
  const float start = error[0];
  if (count <= 1 || !(start == start)) return 0;
  // NaNs never win: they count as +inf, as do the lanes past count (never read).
  const __m512 inf = _mm512_set1_ps(__builtin_inff());
  const auto lanes_at = [count](int c) {
    const int left = count - c;
    return left >= kCandidateLanesAvx512 ? kAll : static_cast<__mmask16>((1u << left) - 1);
  };
  __m512 least = inf;
  for (int c = 0; c < count; c += kCandidateLanesAvx512) {
    const __m512 e = _mm512_mask_loadu_ps(inf, lanes_at(c), error + c);
    least = _mm512_mask_min_ps(least, _mm512_cmp_ps_mask(e, e, _CMP_ORD_Q), least, e);
  }
  alignas(64) float lane[kCandidateLanesAvx512];
  _mm512_store_ps(lane, least);  // (GCC 12's reduce intrinsic trips maybe-uninitialized)
  float m = lane[0];
  for (const float v : lane) m = v < m ? v : m;
  if (!(m < start)) return 0;
  const __m512 target = _mm512_set1_ps(m);
  for (int c = 0; c < count; c += kCandidateLanesAvx512) {
    const __m512 e = _mm512_mask_loadu_ps(inf, lanes_at(c), error + c);
    const __mmask16 hit = _mm512_cmp_ps_mask(e, target, _CMP_EQ_OQ);
    if (hit != 0) return c + __builtin_ctz(hit);
  }
  return 0;  // not reached: m is one of the errors
}

}  // namespace qmix::kquant
