// What the GEMM kernel tests share: a problem (sizes, store, triangle) and a run that checks
// the kernel wrote nothing outside the m × n block and returns output (i, j) row-major, with a
// sentinel where a causal problem must not write.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "engine/gemm.h"

namespace qmix::test {

struct GemmProblem {
  int64_t m, n, k;
  GemmStore store = GemmStore::kRowMajor;
  GemmTriangle triangle = GemmTriangle::kFull;
};

inline bool gemm_wanted(const GemmProblem& p, int64_t i, int64_t j) {
  return p.triangle != GemmTriangle::kColumnsUpToRow || j <= i;
}

inline constexpr float kGemmSentinel = -7.0f;

// Args: GemmArgs or GemmBf16Args (the same fields in the same order); Operands: x, z, ldx, ldz.
template <typename Args, typename Fn, typename Operands>
std::vector<float> run_gemm(Fn fn, const GemmProblem& p, const Operands& o) {
  const bool transposed = p.store == GemmStore::kTransposed;
  const int64_t ldc = (transposed ? p.m : p.n) + 5;
  std::vector<float> c(static_cast<size_t>((transposed ? p.n : p.m) * ldc), kGemmSentinel);
  Args g{o.x.data(), o.ldx, o.z.data(), o.ldz, c.data(), ldc, p.m, p.n, p.k, p.store, p.triangle};
  fn(g);
  std::vector<float> out(static_cast<size_t>(p.m * p.n), kGemmSentinel);
  for (int64_t i = 0; i < p.m; ++i)
    for (int64_t j = 0; j < p.n; ++j)
      if (gemm_wanted(p, i, j))
        out[static_cast<size_t>(i * p.n + j)] =
            c[static_cast<size_t>(transposed ? j * ldc + i : i * ldc + j)];
  // Nothing outside the m × n block: the padding of every C row stays untouched.
  const int64_t lines = transposed ? p.n : p.m, width = transposed ? p.m : p.n;
  for (int64_t l = 0; l < lines; ++l)
    for (int64_t e = width; e < ldc; ++e)
      EXPECT_EQ(c[static_cast<size_t>(l * ldc + e)], kGemmSentinel) << "wrote padding at " << l;
  return out;
}

}  // namespace qmix::test
