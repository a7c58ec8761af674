#include "engine/gemm.h"

#include "core/cpu.h"

namespace qmix {

void gemm_f32_scalar(const GemmArgs& g) {
  for (int64_t t = 0; t < g.n_tokens; ++t)
    for (int64_t r = 0; r < g.n_rows; ++r) {
      const float* a = g.a + t * g.lda;
      const float* b = g.b + r * g.ldb;
      float sum = 0;
      for (int64_t i = 0; i < g.k; ++i) sum += a[i] * b[i];
      g.c[t * g.ldc + r] = sum;
    }
}

GemmFn gemm_f32() { return cpu_features().use_avx2() ? gemm_f32_avx2 : gemm_f32_scalar; }

}  // namespace qmix
