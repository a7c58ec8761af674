// AVX2 e^x over arrays (the kernel itself is in vec_exp_avx2.h).
#include "engine/vec_exp_avx2.h"
#include "engine/vec_exp.h"

namespace qmix {

using vec_exp::exp8;

void exp_inplace_avx2(float* x, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, exp8(_mm256_loadu_ps(x + i)));
  if (i == n) return;
  const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n - i)),
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  _mm256_maskstore_ps(x + i, mask, exp8(_mm256_maskload_ps(x + i, mask)));
}

}  // namespace qmix
