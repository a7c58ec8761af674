#include <immintrin.h>

#include "quant/k_quants_measure.h"

namespace qmix::kquant {
namespace {

template <bool kAffine>
float measure(const float* x, const float* w, const Format& f, float dl, float ml, uint8_t* level) {
  const __m256 inverse = _mm256_set1_ps(dl != 0 ? 1 / dl : 0.f);
  const __m256 shift = _mm256_set1_ps(kAffine ? ml : 0.f);
  const __m256 bias = _mm256_set1_ps(static_cast<float>(f.bias));
  const __m256 top = _mm256_set1_ps(static_cast<float>(f.max_level));
  const __m256 vdl = _mm256_set1_ps(dl), vml = _mm256_set1_ps(ml);
  __m256 lanes = _mm256_setzero_ps();
  for (int i = 0; i < f.sub_block; i += kMeasureLanes) {
    const __m256 xv = _mm256_loadu_ps(x + i);
    __m256 v = _mm256_add_ps(_mm256_mul_ps(_mm256_add_ps(xv, shift), inverse), bias);
    // max(v, 0) gives 0 for NaN (its second operand), then min with the top level.
    v = _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), top);
    const __m256i l = _mm256_cvtps_epi32(v);  // nearest, ties to even: v is in [0, 63]
    const __m128i l16 = _mm_packs_epi32(_mm256_castsi256_si128(l), _mm256_extracti128_si256(l, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(level + i), _mm_packus_epi16(l16, l16));
    const __m256 value =
        kAffine ? _mm256_sub_ps(_mm256_mul_ps(vdl, _mm256_cvtepi32_ps(l)), vml)
                : _mm256_mul_ps(vdl,
                                _mm256_cvtepi32_ps(_mm256_sub_epi32(l, _mm256_set1_epi32(f.bias))));
    const __m256 diff = _mm256_sub_ps(xv, value);
    lanes = _mm256_add_ps(lanes, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(w + i), diff), diff));
  }
  alignas(32) float partial[kMeasureLanes];
  _mm256_store_ps(partial, lanes);
  float error = 0;
  for (const float p : partial) error += p;
  return error;
}

// Eight candidates, one per lane; values in order, as measure_candidates' scalar loop.
template <bool kAffine>
__m256 candidate_errors(const float* x, const float* w, const Format& f, __m256 dl, __m256 ml) {
  const __m256 zero = _mm256_setzero_ps();
  const __m256 nonzero = _mm256_cmp_ps(dl, zero, _CMP_NEQ_UQ);
  const __m256 inverse = _mm256_and_ps(_mm256_div_ps(_mm256_set1_ps(1.f), dl), nonzero);
  const __m256 shift = kAffine ? ml : zero;
  const __m256 bias = _mm256_set1_ps(static_cast<float>(f.bias));
  const __m256 top = _mm256_set1_ps(static_cast<float>(f.max_level));
  __m256 error = zero;
  for (int i = 0; i < f.sub_block; ++i) {
    const __m256 shifted = _mm256_add_ps(_mm256_set1_ps(x[i]), shift);
    __m256 v = _mm256_add_ps(_mm256_mul_ps(shifted, inverse), bias);
    v = _mm256_min_ps(_mm256_max_ps(v, zero), top);  // NaN → 0, as the scalar loop
    const __m256 l = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // (x + ml) - dl * (level - bias), fused as the scalar loop's std::fma.
    const __m256 diff = _mm256_fnmadd_ps(dl, kAffine ? l : _mm256_sub_ps(l, bias), shifted);
    error = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(w[i]), diff), diff, error);
  }
  return error;
}

}  // namespace

void measure_candidates_avx2(const float* x, const float* w, const Format& f, const float* dl,
                             const float* ml, int count, float* error) {
  for (int c = 0; c < count; c += kMeasureLanes) {
    const __m256 dls = _mm256_loadu_ps(dl + c), mls = _mm256_loadu_ps(ml + c);
    _mm256_storeu_ps(error + c, f.affine() ? candidate_errors<true>(x, w, f, dls, mls)
                                           : candidate_errors<false>(x, w, f, dls, mls));
  }
}

float measure_sub_block_avx2(const float* x, const float* w, const Format& f, float dl, float ml,
                             uint8_t* level) {
  return f.affine() ? measure<true>(x, w, f, dl, ml, level)
                    : measure<false>(x, w, f, dl, ml, level);
}

LevelSums level_sums_avx2(const float* x, const float* w, const Format& f, const uint8_t* level) {
  const __m256 bias = _mm256_set1_ps(static_cast<float>(f.bias));
  __m256 sum[kLevelSums] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                            _mm256_setzero_ps(), _mm256_setzero_ps()};
  for (int i = 0; i < f.sub_block; i += kMeasureLanes) {
    const __m128i l8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(level + i));
    const __m256 q = _mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(l8)), bias);
    const __m256 wi = _mm256_loadu_ps(w + i);
    const __m256 wq = _mm256_mul_ps(wi, q), wx = _mm256_mul_ps(wi, _mm256_loadu_ps(x + i));
    sum[0] = _mm256_add_ps(sum[0], wi);
    sum[1] = _mm256_add_ps(sum[1], wq);
    sum[2] = _mm256_add_ps(sum[2], _mm256_mul_ps(wq, q));
    sum[3] = _mm256_add_ps(sum[3], wx);
    sum[4] = _mm256_add_ps(sum[4], _mm256_mul_ps(wx, q));
  }
  alignas(32) float lanes[kLevelSums][kMeasureLanes];
  for (int s = 0; s < kLevelSums; ++s) _mm256_store_ps(lanes[s], sum[s]);
  return combine_level_sums(lanes);
}

void requantize_symmetric_avx2(const float* x, const Format& f, SuperBlock& s) {
  const float d = fp16_to_fp32(s.d);
  const __m256i lo = _mm256_set1_epi32(-f.bias), hi = _mm256_set1_epi32(f.max_level - f.bias);
  for (int j = 0; j < f.sub_blocks(); ++j) {
    const float dl = d * static_cast<float>(s.scale[j]);
    if (dl == 0) continue;
    const __m256 vdl = _mm256_set1_ps(dl);
    for (int i = j * f.sub_block; i < (j + 1) * f.sub_block; i += kMeasureLanes) {
      // scale_fit::nearest_int's trick (add 1.5 * 2^23, keep the mantissa), as the scalar loop.
      const __m256 shifted =
          _mm256_add_ps(_mm256_div_ps(_mm256_loadu_ps(x + i), vdl), _mm256_set1_ps(12582912.f));
      __m256i l = _mm256_sub_epi32(
          _mm256_and_si256(_mm256_castps_si256(shifted), _mm256_set1_epi32(0x007fffff)),
          _mm256_set1_epi32(0x00400000));
      l = _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(l, lo), hi),
                           _mm256_set1_epi32(f.bias));
      const __m128i l16 =
          _mm_packs_epi32(_mm256_castsi256_si128(l), _mm256_extracti128_si256(l, 1));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(s.level + i), _mm_packus_epi16(l16, l16));
    }
  }
}

}  // namespace qmix::kquant
