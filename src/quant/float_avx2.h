// AVX2 dot of float-like weights (f32, f16, bf16) with f32 activations. Include only from
// *_avx2.cpp files. Each product is the scalar kernel's float product; the sum is accumulated
// in double like the scalar one, in another order (8 lanes), so the result agrees with the
// scalar dot to within double rounding of the sum (far below one float ulp for sane rows).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace qmix::float_avx2 {

// load8(x, i) gives the 8 weights from index i as floats, load1(x, i) weight i.
template <class T, class Load8, class Load1>
float dot(const void* weights, const void* activations, int64_t n, Load8 load8, Load1 load1) {
  const T* x = static_cast<const T*>(weights);
  const float* y = static_cast<const float*>(activations);
  __m256d acc[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                    _mm256_setzero_pd()};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int h = 0; h < 2; ++h) {
      const __m256 p = _mm256_mul_ps(load8(x, i + 8 * h), _mm256_loadu_ps(y + i + 8 * h));
      acc[2 * h] = _mm256_add_pd(acc[2 * h], _mm256_cvtps_pd(_mm256_castps256_ps128(p)));
      acc[2 * h + 1] = _mm256_add_pd(acc[2 * h + 1], _mm256_cvtps_pd(_mm256_extractf128_ps(p, 1)));
    }
  const __m256d s = _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, s);
  double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (; i < n; ++i) sum += static_cast<double>(load1(x, i) * y[i]);
  return static_cast<float>(sum);
}

}  // namespace qmix::float_avx2
