// The AVX2 vector exp against its scalar specification (std::exp): within 4 ulp wherever the
// result is a normal float, 0 where it would be subnormal, and the special values kept.
// Skipped, saying so, on CPUs without AVX2/FMA/F16C or with QMIX_FORCE_SCALAR=1.
#include "engine/vec_exp.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/cpu.h"

namespace qmix {
namespace {

TEST(VecExp, Avx2WithinFourUlpOfStdExp) {
  if (!cpu_features().use_avx2())
    GTEST_SKIP() << "skipped: this CPU lacks AVX2/FMA/F16C (or QMIX_FORCE_SCALAR is set)";
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> wide(-87.0f, 88.5f), near_zero(-1.0f, 1.0f);
  std::vector<float> x;
  for (int i = 0; i < 200000; ++i) x.push_back(i % 2 ? wide(rng) : near_zero(rng));
  for (float v : {0.0f, -0.0f, 1.0f, -1.0f, 88.7f, -87.3f, 0.3465736f, -0.3465736f}) x.push_back(v);
  x.push_back(0.5f);  // odd length: the masked tail
  std::vector<float> got = x;
  exp_inplace_avx2(got.data(), static_cast<int64_t>(got.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    const float want = std::exp(x[i]);
    const float ulp = std::nextafter(want, INFINITY) - want;
    ASSERT_LE(std::fabs(got[i] - want), 4 * ulp) << "x = " << x[i];
  }
}

TEST(VecExp, Avx2SpecialValues) {
  if (!cpu_features().use_avx2())
    GTEST_SKIP() << "skipped: this CPU lacks AVX2/FMA/F16C (or QMIX_FORCE_SCALAR is set)";
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {-inf, -1000.0f, -88.0f, 89.0f, inf, std::nanf("")};
  exp_inplace_avx2(x.data(), static_cast<int64_t>(x.size()));
  EXPECT_EQ(x[0], 0.0f);
  EXPECT_EQ(x[1], 0.0f);
  EXPECT_EQ(x[2], 0.0f);  // e^-88 is subnormal: flushed
  EXPECT_EQ(x[3], inf);
  EXPECT_EQ(x[4], inf);
  EXPECT_TRUE(std::isnan(x[5]));
}

}  // namespace
}  // namespace qmix
