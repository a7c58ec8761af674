// The f32 GEMM kernels: the scalar one against a double-precision product, the SIMD ones
// bit-identical to the scalar one (one FMA chain per output), on sizes that exercise every
// tail, both stores and both causal triangles.
#include "engine/gemm.h"
#include "gemm_harness.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/cpu.h"

namespace qmix {
namespace {

using Problem = test::GemmProblem;

struct Operands {
  std::vector<float> x, z;
  int64_t ldx, ldz, ldc;
};

Operands operands(const Problem& p) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  Operands o;
  o.ldx = p.k + 3;                   // strides wider than the problem, as in the engine
  o.ldz = p.k * kGemmPanelCols + 8;  // panels a little apart
  o.x.resize(static_cast<size_t>(p.m * o.ldx));
  o.z.resize(static_cast<size_t>((p.n + kGemmPanelCols - 1) / kGemmPanelCols * o.ldz));
  for (float& v : o.x) v = nd(rng);
  for (float& v : o.z) v = nd(rng);
  if (p.triangle == GemmTriangle::kDepthUpToRow)  // the caller's promise: zeros past the row
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t k = i + 1; k < p.k; ++k) o.x[static_cast<size_t>(i * o.ldx + k)] = 0.0f;
  return o;
}

std::vector<float> run(GemmFn fn, const Problem& p, const Operands& o) {
  return test::run_gemm<GemmArgs>(fn, p, o);
}

TEST(Gemm, ScalarMatchesDouble) {
  for (Problem p : {Problem{1, 1, 1}, Problem{5, 7, 19}, Problem{9, 10, 256}}) {
    const Operands o = operands(p);
    const std::vector<float> c = run(gemm_f32_scalar, p, o);
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j) {
        double want = 0, mag = 0;
        for (int64_t k = 0; k < p.k; ++k) {
          const double prod = static_cast<double>(o.x[static_cast<size_t>(i * o.ldx + k)]) *
                              o.z[static_cast<size_t>(j / kGemmPanelCols * o.ldz +
                                                      k * kGemmPanelCols + j % kGemmPanelCols)];
          want += prod;
          mag += std::fabs(prod);
        }
        ASSERT_NEAR(c[static_cast<size_t>(i * p.n + j)], want, 1e-6 * mag + 1e-6);
      }
  }
}

void expect_same_as_scalar(GemmFn fn) {
  for (GemmStore store : {GemmStore::kRowMajor, GemmStore::kTransposed})
    for (GemmTriangle tri :
         {GemmTriangle::kFull, GemmTriangle::kColumnsUpToRow, GemmTriangle::kDepthUpToRow})
      for (int64_t m : {1, 5, 6, 12, 13, 30})
        for (int64_t n : {1, 7, 16, 17, 33, 64})
          for (int64_t k : {1, 9, 40}) {
            const Problem p{m, n, tri == GemmTriangle::kDepthUpToRow ? m + k : k, store, tri};
            const Operands o = operands(p);
            ASSERT_EQ(run(fn, p, o), run(gemm_f32_scalar, p, o))
                << "m=" << m << " n=" << n << " k=" << p.k << " store=" << static_cast<int>(store)
                << " triangle=" << static_cast<int>(tri);
          }
}

// Splitting k into blocks with kAccumulate gives the bits of one pass.
void expect_blocks_equal_one_pass(GemmFn fn) {
  const Problem p{13, 40, 70};
  const Operands o = operands(p);
  const std::vector<float> whole = run(fn, p, o);
  std::vector<float> c(static_cast<size_t>(p.m * p.n));
  for (int64_t k0 : {0, 30, 64}) {
    const int64_t k1 = k0 == 0 ? 30 : k0 == 30 ? 64 : 70;
    GemmArgs g{
        o.x.data() + k0, o.ldx, o.z.data() + k0 * kGemmPanelCols, o.ldz, c.data(), p.n, p.m, p.n,
        k1 - k0};
    g.init = k0 == 0 ? GemmInit::kZero : GemmInit::kAccumulate;
    fn(g);
  }
  EXPECT_EQ(c, whole);
}

TEST(Gemm, DepthBlocksAccumulateExactly) {
  expect_blocks_equal_one_pass(gemm_f32_scalar);
  if (cpu_features().use_avx2()) expect_blocks_equal_one_pass(gemm_f32_avx2);
  if (cpu_features().use_avx512()) expect_blocks_equal_one_pass(gemm_f32_avx512);
}

TEST(Gemm, Avx2BitIdenticalToScalar) {
  if (!cpu_features().use_avx2()) GTEST_SKIP() << "CPU without AVX2+FMA: AVX2 GEMM not tested";
  expect_same_as_scalar(gemm_f32_avx2);
}

TEST(Gemm, Avx512BitIdenticalToScalar) {
  if (!cpu_features().use_avx512()) GTEST_SKIP() << "CPU without AVX-512F: kernel not tested";
  expect_same_as_scalar(gemm_f32_avx512);
}

TEST(Gemm, PackingPlacesEveryValue) {
  const int64_t k = 21, n = 37, lds = 40;
  std::vector<float> src(static_cast<size_t>(n * lds));
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>(i);
  std::vector<float> direct(static_cast<size_t>(packed_z_size(k, n)), -1.0f), transposed = direct;
  pack_z(src.data(), lds, k, n, direct.data(), 0, 2);                 // src as k × n
  pack_z_transposed(src.data(), lds, k, n, transposed.data(), 0, 1);  // src as n × k, in 2 calls
  pack_z_transposed(src.data(), lds, k, n, transposed.data(), 1, 2);
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t j = 0; j < n; ++j) {
      const size_t at = static_cast<size_t>(j / kGemmPanelCols * k * kGemmPanelCols +
                                            kk * kGemmPanelCols + j % kGemmPanelCols);
      ASSERT_EQ(direct[at], src[static_cast<size_t>(kk * lds + j)]);
      ASSERT_EQ(transposed[at], src[static_cast<size_t>(j * lds + kk)]);
    }
}

}  // namespace
}  // namespace qmix
