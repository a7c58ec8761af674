// Dense f32 matrix product, the engine's exact matmul:
//   C[i][j] = Σ_k X[i][k] · Z[k][j]   for i < m, j < n
// X is read one value at a time (broadcast), Z and C a vector of j at a time. Z is packed in
// panels of kGemmPanelCols columns, each panel k rows of kGemmPanelCols contiguous floats, so
// the kernel streams it linearly (a row-major Z with a power-of-two stride thrashes the caches
// and the TLB); give X a row stride that is not a multiple of 4 KiB for the same reason. Every
// output is a single chain of fused multiply-adds in increasing k starting from 0, so the scalar,
// AVX2 and AVX-512 kernels give bit-identical results, independent of tiling and thread count.
//
// The engine uses it two ways: weight matmuls with X = a panel of dequantized weight rows,
// Z = the activations transposed (k × tokens) and C stored transposed (tokens × rows); and
// attention with X = queries or probabilities and Z = keys transposed or values as they lie.
#pragma once

#include <cstdint>

namespace qmix {

// Z(k, j) lies at z[(j / kGemmPanelCols) * ldz + k * kGemmPanelCols + j % kGemmPanelCols].
constexpr int64_t kGemmPanelCols = 32;

enum class GemmStore {
  kRowMajor,    // c[i * ldc + j]
  kTransposed,  // c[j * ldc + i]
};

enum class GemmInit {
  kZero,        // C = X · Z
  kAccumulate,  // C += X · Z, continuing each output's FMA chain (row-major C only): splitting k
                // into blocks gives the same bits as one pass over all of k
};

// Causal attention needs only part of the product; the kernels skip work in whole tiles, so
// the caller must not read outputs it did not ask for and must zero what it excludes.
enum class GemmTriangle {
  kFull,
  kColumnsUpToRow,  // row i needs only columns j ≤ i (outputs above the diagonal may be unset)
  kDepthUpToRow,    // X[i][k] = 0 for k > i, so depth past the row's index is skipped
};

struct GemmArgs {
  const float* x = nullptr;
  int64_t ldx = 0;
  const float* z = nullptr;
  int64_t ldz = 0;  // floats from one column panel of Z to the next (≥ k · kGemmPanelCols)
  float* c = nullptr;
  int64_t ldc = 0;
  int64_t m = 0, n = 0, k = 0;
  GemmStore store = GemmStore::kRowMajor;
  GemmTriangle triangle = GemmTriangle::kFull;
  GemmInit init = GemmInit::kZero;
};

using GemmFn = void (*)(const GemmArgs& args);

void gemm_f32_scalar(const GemmArgs& args);
void gemm_f32_avx2(const GemmArgs& args);    // needs AVX2+FMA
void gemm_f32_avx512(const GemmArgs& args);  // needs AVX-512F

// The fastest kernel this CPU runs.
GemmFn gemm_f32();

// Packs a row-major k × n matrix (src[k * lds + j]) as Z with panel stride k · kGemmPanelCols;
// only the panels [panel_begin, panel_end) (for splitting the work across threads).
void pack_z(const float* src, int64_t lds, int64_t k, int64_t n, float* dst, int64_t panel_begin,
            int64_t panel_end);
// Packs the transpose of a row-major n × k matrix (src[j * lds + k]) the same way: Z(k, j) =
// src[j][k], as weight matmuls need the activations (tokens × features).
void pack_z_transposed(const float* src, int64_t lds, int64_t k, int64_t n, float* dst,
                       int64_t panel_begin, int64_t panel_end);
// Panels of kGemmPanelCols columns an n-column Z is packed into (the last one may be partial).
inline int64_t gemm_panel_count(int64_t n) { return (n + kGemmPanelCols - 1) / kGemmPanelCols; }
// Floats a packed Z of k × n takes.
inline int64_t packed_z_size(int64_t k, int64_t n) {
  return gemm_panel_count(n) * kGemmPanelCols * k;
}

}  // namespace qmix
