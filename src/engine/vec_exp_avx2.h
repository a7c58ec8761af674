// The 8-lane e^x of vec_exp.h, inline for the other AVX2 kernels of the engine (softmax,
// SwiGLU). Include only from *_avx2.cpp files. x = n·ln2 + r with n = round(x / ln2), e^r by a
// degree-7 Taylor polynomial (|r| ≤ 0.347, truncation error below 1e-8 relative), 2^n built in
// the exponent field.
#pragma once

#include <immintrin.h>

#include <cmath>

namespace qmix::vec_exp {

// ln2 split so that n·kLn2Hi is exact for |n| ≤ 128 (kLn2Hi has 16 significant bits).
constexpr float kLn2Hi = 0.693145751953125f;
constexpr float kLn2Lo = 1.428606765330187045e-06f;
constexpr float kLog2e = 1.44269504088896341f;
// Beyond these, e^x is not a normal float: +inf above, 0 (flushed) below.
constexpr float kMaxArg = 88.7228391116729996f;   // ln(FLT_MAX)
constexpr float kMinArg = -87.3365447505531554f;  // ln(FLT_MIN)

inline __m256 exp8(__m256 x) {
  const __m256 clamped =
      _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(kMinArg)), _mm256_set1_ps(kMaxArg));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(clamped, _mm256_set1_ps(kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), clamped);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  // Horner over 1/k!, k = 7 down to 0.
  __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  // n ∈ [-126, 128]: 2^n as a float is (n + 127) << 23; for n = 128 scale by 2^127 · 2.
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i top = _mm256_cmpeq_epi32(ni, _mm256_set1_epi32(128));
  const __m256i e = _mm256_sub_epi32(ni, _mm256_and_si256(top, _mm256_set1_epi32(1)));
  const __m256 scale =
      _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23));
  p = _mm256_mul_ps(p, scale);
  p = _mm256_blendv_ps(p, _mm256_add_ps(p, p), _mm256_castsi256_ps(top));
  const __m256 inf = _mm256_set1_ps(INFINITY);
  p = _mm256_blendv_ps(p, inf, _mm256_cmp_ps(x, _mm256_set1_ps(kMaxArg), _CMP_GT_OQ));
  p = _mm256_blendv_ps(p, _mm256_setzero_ps(),
                       _mm256_cmp_ps(x, _mm256_set1_ps(kMinArg), _CMP_LT_OQ));
  return _mm256_blendv_ps(p, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));  // NaN stays NaN
}

}  // namespace qmix::vec_exp
