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

#include "core/fp16.h"

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

// Elem is float for the f32 GEMM and bf16_t for the bf16 one (see below); C is always f32.
template <class Elem>
struct BasicGemmArgs {
  const Elem* x = nullptr;
  int64_t ldx = 0;
  const Elem* z = nullptr;
  int64_t ldz = 0;  // elements from one column panel of Z to the next (≥ k · kGemmPanelCols)
  float* c = nullptr;
  int64_t ldc = 0;
  int64_t m = 0, n = 0, k = 0;
  GemmStore store = GemmStore::kRowMajor;
  GemmTriangle triangle = GemmTriangle::kFull;
  GemmInit init = GemmInit::kZero;
};

using GemmArgs = BasicGemmArgs<float>;
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

// The bf16 GEMM: the same product and contract with X and Z rounded to bf16 and accumulated in
// f32 by the AVX-512 BF16 dot instruction, which takes two values of k per step: twice the
// multiply-adds of an f32 FMA per instruction and half the bytes to stream. Z holds pairs:
//   Z(k, j) lies at z[(j / kGemmPanelCols) * ldz + (k / 2) * 2 * kGemmPanelCols
//                     + (j % kGemmPanelCols) * 2 + k % 2],
// X is row-major as for f32. k is rounded up to even: the caller zeroes X(i, k) (or Z(k, j))
// for the odd k's partner, which the packing functions below do.
//
// Every output is one chain in increasing pairs of k from 0 (or from C with kAccumulate): per
// pair, acc = round(round(acc + x[2p+1]·z[2p+1]) + x[2p]·z[2p]) (the products of two bf16 are
// exact in f32), with bf16 subnormal inputs read as zero and subnormal sums flushed to zero,
// as the instruction does; gemm_bf16_scalar is that arithmetic, bit for bit.
using GemmBf16Args = BasicGemmArgs<bf16_t>;
using GemmBf16Fn = void (*)(const GemmBf16Args& args);

void gemm_bf16_scalar(const GemmBf16Args& args);
void gemm_bf16_avx512(const GemmBf16Args& args);  // needs AVX-512F + AVX-512 BF16

// The bf16 kernel of this CPU, or nullptr where it has no AVX-512 BF16 (the scalar reference
// is for tests: use the f32 GEMM there).
GemmBf16Fn gemm_bf16();

// f32 → bf16 as the conversion instruction rounds: to nearest even, subnormals to signed zero,
// NaN kept quiet.
bf16_t gemm_round_bf16(float f);
// Converts n values with gemm_round_bf16 (AVX-512 BF16 where the CPU has it).
void round_row_bf16(const float* src, int64_t n, bf16_t* dst);

// Depth of a bf16 operand: k rounded up to a whole pair.
inline int64_t bf16_depth(int64_t k) { return (k + 1) / 2 * 2; }
// Elements a packed bf16 Z of k × n takes.
inline int64_t packed_z_bf16_size(int64_t k, int64_t n) {
  return gemm_panel_count(n) * kGemmPanelCols * bf16_depth(k);
}
// Packs the transpose of a row-major n × k f32 matrix (src[j * lds + k]) as a bf16 Z with panel
// stride bf16_depth(k) · kGemmPanelCols, rounding with gemm_round_bf16 and zeroing the odd k's
// partner; only the panels [panel_begin, panel_end).
void pack_z_bf16_transposed(const float* src, int64_t lds, int64_t k, int64_t n, bf16_t* dst,
                            int64_t panel_begin, int64_t panel_end);

}  // namespace qmix
