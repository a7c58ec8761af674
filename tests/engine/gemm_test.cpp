// The f32 GEMM kernels against a double-precision product, on sizes that exercise every tail.
#include "engine/gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/cpu.h"

namespace qmix {
namespace {

struct Problem {
  int64_t tokens, rows, k;
};

void check(GemmFn fn, const Problem& p) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> a(static_cast<size_t>(p.tokens * p.k)), b(static_cast<size_t>(p.rows * p.k));
  for (float& v : a) v = nd(rng);
  for (float& v : b) v = nd(rng);
  const int64_t ldc = p.rows + 5;  // a row stride wider than the block, as in panels
  std::vector<float> c(static_cast<size_t>(p.tokens * ldc), -7.0f);
  GemmArgs g{a.data(), p.k, b.data(), p.k, c.data(), ldc, p.tokens, p.rows, p.k};
  fn(g);
  for (int64_t t = 0; t < p.tokens; ++t) {
    for (int64_t r = 0; r < p.rows; ++r) {
      double want = 0, mag = 0;
      for (int64_t i = 0; i < p.k; ++i) {
        want += static_cast<double>(a[t * p.k + i]) * b[r * p.k + i];
        mag += std::fabs(static_cast<double>(a[t * p.k + i]) * b[r * p.k + i]);
      }
      ASSERT_NEAR(c[t * ldc + r], want, 1e-6 * mag + 1e-6) << "t=" << t << " r=" << r;
    }
    for (int64_t r = p.rows; r < ldc; ++r) ASSERT_EQ(c[t * ldc + r], -7.0f);  // untouched
  }
}

TEST(Gemm, ScalarMatchesDouble) {
  for (Problem p : {Problem{1, 1, 1}, Problem{5, 7, 19}, Problem{9, 10, 256}})
    check(gemm_f32_scalar, p);
}

TEST(Gemm, Avx2MatchesDoubleOnAllTails) {
  if (!cpu_features().use_avx2()) GTEST_SKIP() << "CPU without AVX2+FMA: AVX2 GEMM not tested";
  for (int64_t tokens : {1, 3, 4, 5, 8, 11})
    for (int64_t rows : {1, 2, 3, 4, 7, 48})
      for (int64_t k : {1, 7, 8, 9, 64, 260}) check(gemm_f32_avx2, Problem{tokens, rows, k});
}

}  // namespace
}  // namespace qmix
