#include "engine/gemm.h"

#include <algorithm>
#include <cmath>

#include "core/cpu.h"

namespace qmix {

void gemm_f32_scalar(const GemmArgs& g) {
  for (int64_t i = 0; i < g.m; ++i) {
    const int64_t cols = g.triangle == GemmTriangle::kColumnsUpToRow ? std::min(g.n, i + 1) : g.n;
    const int64_t depth = g.triangle == GemmTriangle::kDepthUpToRow ? std::min(g.k, i + 1) : g.k;
    for (int64_t j = 0; j < cols; ++j) {
      float* out = g.c + (g.store == GemmStore::kRowMajor ? i * g.ldc + j : j * g.ldc + i);
      float sum = g.init == GemmInit::kAccumulate ? *out : 0.0f;
      for (int64_t k = 0; k < depth; ++k)
        sum = std::fma(g.x[i * g.ldx + k],
                       g.z[(j / kGemmPanelCols) * g.ldz + k * kGemmPanelCols + j % kGemmPanelCols],
                       sum);
      *out = sum;
    }
  }
}

GemmFn gemm_f32() {
  const CpuFeatures& f = cpu_features();
  if (f.use_avx512()) return gemm_f32_avx512;
  return f.use_avx2() ? gemm_f32_avx2 : gemm_f32_scalar;
}

void pack_z(const float* src, int64_t lds, int64_t k, int64_t n, float* dst, int64_t panel_begin,
            int64_t panel_end) {
  for (int64_t p = panel_begin; p < panel_end; ++p) {
    const int64_t j0 = p * kGemmPanelCols, width = std::min(kGemmPanelCols, n - j0);
    float* out = dst + p * k * kGemmPanelCols;
    for (int64_t kk = 0; kk < k; ++kk)
      std::copy_n(src + kk * lds + j0, width, out + kk * kGemmPanelCols);
  }
}

void pack_z_transposed(const float* src, int64_t lds, int64_t k, int64_t n, float* dst,
                       int64_t panel_begin, int64_t panel_end) {
  constexpr int64_t kBlock = 16;  // 32 source lines × 16 floats stay in L1 while written out
  for (int64_t p = panel_begin; p < panel_end; ++p) {
    const int64_t j0 = p * kGemmPanelCols, width = std::min(kGemmPanelCols, n - j0);
    float* out = dst + p * k * kGemmPanelCols;
    for (int64_t k0 = 0; k0 < k; k0 += kBlock) {
      const int64_t k1 = std::min(k, k0 + kBlock);
      for (int64_t j = 0; j < width; ++j) {
        const float* in = src + (j0 + j) * lds;
        for (int64_t kk = k0; kk < k1; ++kk) out[kk * kGemmPanelCols + j] = in[kk];
      }
    }
  }
}

}  // namespace qmix
