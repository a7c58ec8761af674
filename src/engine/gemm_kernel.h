// The register-blocked GEMM of gemm.h as one template over the vector ISA. Include only from
// the *_avx2.cpp / *_avx512.cpp files that instantiate it (each is compiled for its ISA).
//
// Micro-tile: kRows rows of X × 2 vectors of Z columns. Per step of k it loads two vectors of
// Z and broadcasts kRows values of X, each feeding 2 FMAs, so the loop runs at the FMA ports'
// rate: AVX-512 keeps 12 × 2 accumulators in its 32 registers, AVX2 6 × 2 in its 16.
// The bf16 kernel is the same loop over pairs of k (kDepthStep = 2): a "broadcast" is one
// pair of X, a Z vector holds kLanes pairs, and the multiply-add is the pair dot.
#pragma once

#include <algorithm>
#include <cstdint>

#include "engine/gemm.h"

namespace qmix::gemm_kernel {

// V provides: Elem, Reg (f32 accumulators), ZReg, Mask, kLanes, kRows, kDepthStep, zero(),
// broadcast(const Elem*) (kDepthStep values of X), fma(x, z, acc), mask(count),
// load_z(const Elem*, mask), load(const float*, mask), store(float*, Reg, mask).
template <class V>
struct Tiles {
  using Elem = typename V::Elem;
  using Reg = typename V::Reg;
  using ZReg = typename V::ZReg;
  using Mask = typename V::Mask;
  using Args = BasicGemmArgs<Elem>;
  static constexpr int kCols = 2 * V::kLanes;
  static constexpr int64_t kStep = V::kDepthStep;
  static_assert(kGemmPanelCols % kCols == 0, "a tile must not straddle two panels of Z");

  // Rows [i0, i0 + R) × columns [j0, j0 + kCols) (the last columns masked), depth [0, depth).
  template <int R>
  static void tile(const Args& g, int64_t i0, int64_t j0, int64_t depth, Mask m0, Mask m1) {
    // Fully unrolled loops over r, so that the compiler keeps acc in registers.
    Reg acc[R][2];
    if (g.init == GemmInit::kAccumulate) {
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const float* c = g.c + (i0 + r) * g.ldc + j0;
        acc[r][0] = V::load(c, m0);
        acc[r][1] = V::load(c + V::kLanes, m1);
      }
    } else {
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = V::zero();
    }
    const Elem* x = g.x + i0 * g.ldx;
    const int64_t ldx = g.ldx;
    const Elem* z = g.z + j0 / kGemmPanelCols * g.ldz + j0 % kGemmPanelCols * kStep;
    for (int64_t k = 0; k < depth; k += kStep, x += kStep, z += kGemmPanelCols * kStep) {
      const ZReg z0 = V::load_z(z, m0), z1 = V::load_z(z + V::kLanes * kStep, m1);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        const ZReg xv = V::broadcast(x + r * ldx);
        acc[r][0] = V::fma(xv, z0, acc[r][0]);
        acc[r][1] = V::fma(xv, z1, acc[r][1]);
      }
    }
    if (g.store == GemmStore::kRowMajor) {
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) {
        float* c = g.c + (i0 + r) * g.ldc + j0;
        V::store(c, acc[r][0], m0);
        V::store(c + V::kLanes, acc[r][1], m1);
      }
      return;
    }
    // Transposed store: through a small buffer, R consecutive outputs per column.
    alignas(64) float buf[R][kCols];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      V::store(buf[r], acc[r][0], V::mask(V::kLanes));
      V::store(buf[r] + V::kLanes, acc[r][1], V::mask(V::kLanes));
    }
    const int64_t cols = std::min<int64_t>(kCols, g.n - j0);
    for (int64_t j = 0; j < cols; ++j) {
      float* c = g.c + (j0 + j) * g.ldc + i0;
      for (int r = 0; r < R; ++r) c[r] = buf[r][j];
    }
  }

  // Row tiles of kRows with one tail tile of 1..kRows-1 rows, chosen at run time.
  template <int R>
  static void tail(const Args& g, int64_t rows, int64_t i0, int64_t j0, int64_t depth, Mask m0,
                   Mask m1) {
    if constexpr (R > 0) {
      if (rows == R) return tile<R>(g, i0, j0, depth, m0, m1);
      tail<R - 1>(g, rows, i0, j0, depth, m0, m1);
    }
  }

  static int64_t depth_of(const Args& g, int64_t last_row) {
    return g.triangle == GemmTriangle::kDepthUpToRow ? std::min(g.k, last_row + 1) : g.k;
  }

  static void run(const Args& g) {
    for (int64_t j0 = 0; j0 < g.n; j0 += kCols) {
      const int64_t cols = std::min<int64_t>(kCols, g.n - j0);
      const Mask m0 = V::mask(std::min<int64_t>(cols, V::kLanes));
      const Mask m1 = V::mask(std::max<int64_t>(cols - V::kLanes, 0));
      // With kColumnsUpToRow, rows before j0 need nothing from this column tile.
      const int64_t first_row = g.triangle == GemmTriangle::kColumnsUpToRow ? j0 : 0;
      int64_t i0 = first_row - first_row % V::kRows;
      for (; i0 + V::kRows <= g.m; i0 += V::kRows)
        tile<V::kRows>(g, i0, j0, depth_of(g, i0 + V::kRows - 1), m0, m1);
      if (i0 < g.m) tail<V::kRows - 1>(g, g.m - i0, i0, j0, depth_of(g, g.m - 1), m0, m1);
    }
  }
};

}  // namespace qmix::gemm_kernel
