// Dense f32 matrix product on a panel of dequantized weights, the engine's exact matmul:
//   C[t][r] = Σ_k A[t][k] · B[r][k]   for t < n_tokens, r < n_rows
// A holds activations (row stride lda), B weight rows already converted to f32 (stride ldb),
// C is written with row stride ldc. Every output is one dot product summed in a fixed order, so
// the result does not depend on the thread count.
#pragma once

#include <cstdint>

namespace qmix {

struct GemmArgs {
  const float* a = nullptr;
  int64_t lda = 0;
  const float* b = nullptr;
  int64_t ldb = 0;
  float* c = nullptr;
  int64_t ldc = 0;
  int64_t n_tokens = 0, n_rows = 0, k = 0;
};

using GemmFn = void (*)(const GemmArgs& args);

void gemm_f32_scalar(const GemmArgs& args);
void gemm_f32_avx2(const GemmArgs& args);  // needs AVX2+FMA; any k (tail done in scalar)

// The fastest kernel this CPU runs.
GemmFn gemm_f32();

}  // namespace qmix
