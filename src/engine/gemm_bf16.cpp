// The bf16 GEMM's scalar reference (the specification of the kernel's arithmetic), its
// dispatch, and the rounding and packing of f32 operands to bf16.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "core/cpu.h"
#include "engine/gemm.h"

namespace qmix {

void round_row_bf16_avx512(const float* src, int64_t n, bf16_t* dst);  // gemm_avx512bf16.cpp

namespace {

// The instruction reads subnormal inputs as zero and flushes subnormal results to zero.
float flush_subnormal(float v) {
  return std::fpclassify(v) == FP_SUBNORMAL ? std::copysign(0.0f, v) : v;
}
float bf16_operand(bf16_t h) { return flush_subnormal(bf16_to_fp32(h)); }

}  // namespace

void gemm_bf16_scalar(const GemmBf16Args& g) {
  for (int64_t i = 0; i < g.m; ++i) {
    const int64_t cols = g.triangle == GemmTriangle::kColumnsUpToRow ? std::min(g.n, i + 1) : g.n;
    const int64_t depth = g.triangle == GemmTriangle::kDepthUpToRow ? std::min(g.k, i + 1) : g.k;
    for (int64_t j = 0; j < cols; ++j) {
      float* out = g.c + (g.store == GemmStore::kRowMajor ? i * g.ldc + j : j * g.ldc + i);
      float sum = g.init == GemmInit::kAccumulate ? *out : 0.0f;
      const bf16_t* x = g.x + i * g.ldx;
      const bf16_t* z = g.z + (j / kGemmPanelCols) * g.ldz + (j % kGemmPanelCols) * 2;
      for (int64_t k = 0; k < depth; k += 2, z += 2 * kGemmPanelCols) {
        // The odd element of the pair first, as the instruction adds them.
        sum = flush_subnormal(std::fma(bf16_operand(x[k + 1]), bf16_operand(z[1]), sum));
        sum = flush_subnormal(std::fma(bf16_operand(x[k]), bf16_operand(z[0]), sum));
      }
      *out = sum;
    }
  }
}

GemmBf16Fn gemm_bf16() { return cpu_features().use_avx512_bf16() ? gemm_bf16_avx512 : nullptr; }

bf16_t gemm_round_bf16(float f) {
  const uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7f800000u) == 0) return static_cast<bf16_t>((u >> 16) & 0x8000u);  // ±0
  return fp32_to_bf16(f);  // nearest even, NaN quiet
}

void round_row_bf16(const float* src, int64_t n, bf16_t* dst) {
  if (cpu_features().use_avx512_bf16()) return round_row_bf16_avx512(src, n, dst);
  for (int64_t i = 0; i < n; ++i) dst[i] = gemm_round_bf16(src[i]);
}

void pack_z_bf16_transposed(const float* src, int64_t lds, int64_t k, int64_t n, bf16_t* dst,
                            int64_t panel_begin, int64_t panel_end) {
  constexpr int64_t kChunk = 256;  // values of one source row rounded at a time
  const int64_t pairs = bf16_depth(k) / 2;
  bf16_t row[kChunk];
  for (int64_t p = panel_begin; p < panel_end; ++p) {
    const int64_t j0 = p * kGemmPanelCols, width = std::min(kGemmPanelCols, n - j0);
    bf16_t* panel = dst + p * pairs * 2 * kGemmPanelCols;
    for (int64_t j = 0; j < width; ++j)
      for (int64_t k0 = 0; k0 < k; k0 += kChunk) {
        const int64_t len = std::min(kChunk, k - k0);
        round_row_bf16(src + (j0 + j) * lds + k0, len, row);
        if (len % 2 != 0) row[len] = 0;  // the partner of an odd k's last value
        for (int64_t kk = 0; kk < len; kk += 2)
          std::memcpy(panel + (k0 + kk) * kGemmPanelCols + j * 2, row + kk, 2 * sizeof(bf16_t));
      }
  }
}

}  // namespace qmix
