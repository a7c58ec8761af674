// The bf16 GEMM: its scalar reference against a double-precision product of the rounded
// operands, the AVX-512 BF16 kernel bit-identical to the scalar reference (same pair order,
// subnormals flushed as the instruction does) on sizes that exercise every tail, both stores,
// both causal triangles and odd depths, and the rounding and packing of f32 operands.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "engine/gemm.h"
#include "gemm_harness.h"

namespace qmix {
namespace {

using Problem = test::GemmProblem;

struct Operands {
  std::vector<bf16_t> x, z;
  int64_t ldx, ldz;
};

size_t z_index(const Operands& o, int64_t k, int64_t j) {
  return static_cast<size_t>(j / kGemmPanelCols * o.ldz + k / 2 * 2 * kGemmPanelCols +
                             j % kGemmPanelCols * 2 + k % 2);
}

// N(0, 1) values with a few zeros and bf16 subnormals mixed in (the kernel reads those as 0).
bf16_t random_operand(std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const uint32_t pick = rng() % 64;
  if (pick == 0) return static_cast<bf16_t>(rng() % 0x7f + 1);  // positive subnormal
  if (pick == 1) return 0x8000;                                 // -0
  return gemm_round_bf16(nd(rng));
}

Operands operands(const Problem& p) {
  std::mt19937 rng(11);
  Operands o;
  o.ldx = bf16_depth(p.k) + 6;
  o.ldz = bf16_depth(p.k) * kGemmPanelCols + 16;
  o.x.resize(static_cast<size_t>(p.m * o.ldx));
  o.z.resize(static_cast<size_t>(gemm_panel_count(p.n) * o.ldz));
  for (bf16_t& v : o.z) v = random_operand(rng);
  for (int64_t i = 0; i < p.m; ++i)
    for (int64_t k = 0; k < o.ldx; ++k) {
      // The caller's promises: X is 0 past k (the odd k's partner) and, for kDepthUpToRow,
      // past the row's index.
      const bool zero = k >= p.k || (p.triangle == GemmTriangle::kDepthUpToRow && k > i);
      o.x[static_cast<size_t>(i * o.ldx + k)] = zero ? 0 : random_operand(rng);
    }
  return o;
}

std::vector<float> run(GemmBf16Fn fn, const Problem& p, const Operands& o) {
  return test::run_gemm<GemmBf16Args>(fn, p, o);
}

double operand(bf16_t h) { return (h & 0x7f80) == 0 ? 0.0 : bf16_to_fp32(h); }

// f32 sums of exact products: within 1e-6 of the magnitude of the double-precision sum.
TEST(GemmBf16, ScalarMatchesDouble) {
  for (Problem p : {Problem{1, 1, 1}, Problem{5, 7, 19}, Problem{9, 40, 256}}) {
    const Operands o = operands(p);
    const std::vector<float> c = run(gemm_bf16_scalar, p, o);
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j) {
        double want = 0, mag = 0;
        for (int64_t k = 0; k < p.k; ++k) {
          const double prod =
              operand(o.x[static_cast<size_t>(i * o.ldx + k)]) * operand(o.z[z_index(o, k, j)]);
          want += prod;
          mag += std::fabs(prod);
        }
        ASSERT_NEAR(c[static_cast<size_t>(i * p.n + j)], want, 1e-6 * mag + 1e-6);
      }
  }
}

TEST(GemmBf16, Avx512BitIdenticalToScalar) {
  const GemmBf16Fn fn = gemm_bf16();
  if (fn == nullptr) GTEST_SKIP() << "CPU without AVX-512 BF16: kernel not tested";
  for (GemmStore store : {GemmStore::kRowMajor, GemmStore::kTransposed})
    for (GemmTriangle tri :
         {GemmTriangle::kFull, GemmTriangle::kColumnsUpToRow, GemmTriangle::kDepthUpToRow})
      for (int64_t m : {1, 5, 12, 13, 30})
        for (int64_t n : {1, 7, 16, 17, 33, 64})
          for (int64_t k : {1, 2, 9, 40}) {
            const Problem p{m, n, tri == GemmTriangle::kDepthUpToRow ? m + k : k, store, tri};
            const Operands o = operands(p);
            ASSERT_EQ(run(fn, p, o), run(gemm_bf16_scalar, p, o))
                << "m=" << m << " n=" << n << " k=" << p.k << " store=" << static_cast<int>(store)
                << " triangle=" << static_cast<int>(tri);
          }
}

// Splitting k into blocks of whole pairs with kAccumulate gives the bits of one pass.
TEST(GemmBf16, DepthBlocksAccumulateExactly) {
  const GemmBf16Fn fn = gemm_bf16();
  if (fn == nullptr) GTEST_SKIP() << "CPU without AVX-512 BF16: kernel not tested";
  const Problem p{13, 40, 70};
  const Operands o = operands(p);
  const std::vector<float> whole = run(gemm_bf16_scalar, p, o);
  for (GemmBf16Fn f : {gemm_bf16_scalar, fn}) {
    std::vector<float> c(static_cast<size_t>(p.m * p.n));
    for (int64_t k0 : {0, 30, 64}) {
      const int64_t k1 = k0 == 0 ? 30 : k0 == 30 ? 64 : 70;
      GemmBf16Args g{
          o.x.data() + k0, o.ldx, o.z.data() + k0 * kGemmPanelCols, o.ldz, c.data(), p.n, p.m, p.n,
          k1 - k0};
      g.init = k0 == 0 ? GemmInit::kZero : GemmInit::kAccumulate;
      f(g);
    }
    EXPECT_EQ(c, whole);
  }
}

// The rounding the conversion instruction does: nearest even, subnormals to signed zero, NaN
// quiet; and the row conversion (AVX-512 where available) agrees on every case.
TEST(GemmBf16, RoundingMatchesTheInstruction) {
  EXPECT_EQ(gemm_round_bf16(1.0f), 0x3f80);
  EXPECT_EQ(gemm_round_bf16(std::bit_cast<float>(0x3f808000u)), 0x3f80);  // tie to even
  EXPECT_EQ(gemm_round_bf16(std::bit_cast<float>(0x3f818000u)), 0x3f82);  // tie to even
  EXPECT_EQ(gemm_round_bf16(std::bit_cast<float>(0x3f808001u)), 0x3f81);
  EXPECT_EQ(gemm_round_bf16(std::bit_cast<float>(0x000ae398u)), 0x0000);  // subnormal
  EXPECT_EQ(gemm_round_bf16(std::bit_cast<float>(0x807f66d7u)), 0x8000);
  EXPECT_EQ(gemm_round_bf16(std::numeric_limits<float>::max()), 0x7f80);  // rounds to inf
  EXPECT_EQ(gemm_round_bf16(std::bit_cast<float>(0x7f800001u)), 0x7fc0);  // signalling NaN
  std::vector<float> values = {0.0f,
                               -0.0f,
                               1e-39f,
                               -1e-39f,
                               1.17549435e-38f,
                               std::numeric_limits<float>::infinity(),
                               -std::numeric_limits<float>::infinity(),
                               std::numeric_limits<float>::quiet_NaN(),
                               65504.0f,
                               -3.0e38f};
  std::mt19937 rng(3);
  for (int i = 0; i < 4000; ++i)
    values.push_back(std::bit_cast<float>(static_cast<uint32_t>(rng())));
  for (size_t n : {values.size(), size_t{37}, size_t{5}}) {  // whole vectors and masked tails
    std::vector<bf16_t> got(n);
    round_row_bf16(values.data(), static_cast<int64_t>(n), got.data());
    for (size_t i = 0; i < n; ++i)
      ASSERT_EQ(got[i], gemm_round_bf16(values[i]))
          << std::hex << std::bit_cast<uint32_t>(values[i]);
  }
}

TEST(GemmBf16, PackingPlacesEveryValue) {
  for (int64_t k : {21, 300}) {  // odd depth (a zero partner) and more than one rounding chunk
    const int64_t n = 37, lds = k + 3;
    std::vector<float> src(static_cast<size_t>(n * lds));
    for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<float>(i % 251) - 125.0f;
    Operands o;
    o.ldz = bf16_depth(k) * kGemmPanelCols;
    o.z.assign(static_cast<size_t>(packed_z_bf16_size(k, n)), 0xffff);
    pack_z_bf16_transposed(src.data(), lds, k, n, o.z.data(), 0, 1);  // in two calls
    pack_z_bf16_transposed(src.data(), lds, k, n, o.z.data(), 1, 2);
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t kk = 0; kk < k; ++kk)
        ASSERT_EQ(o.z[z_index(o, kk, j)], gemm_round_bf16(src[static_cast<size_t>(j * lds + kk)]));
      if (k % 2 != 0) {
        ASSERT_EQ(o.z[z_index(o, k, j)], 0);
      }
    }
  }
}

}  // namespace
}  // namespace qmix
