#include "eval/paired.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace qmix {
namespace {

TEST(Paired, MeanAndErrorMatchBruteForce) {
  std::mt19937 rng(4);
  std::normal_distribution<double> d(2.0, 1.0), noise(0.01, 0.05);
  std::vector<double> a, b;
  for (int i = 0; i < 1270; ++i) {
    a.push_back(d(rng));
    b.push_back(a.back() + noise(rng));
  }
  auto r = paired_compare(a, b, {.tokens_per_chunk = 127});
  ASSERT_TRUE(r.ok());
  double mean = 0;
  for (size_t i = 0; i < a.size(); ++i) mean += b[i] - a[i];
  mean /= static_cast<double>(a.size());
  double var = 0;
  for (size_t i = 0; i < a.size(); ++i) var += std::pow(b[i] - a[i] - mean, 2);
  var /= static_cast<double>(a.size() - 1);
  EXPECT_NEAR(r->mean_delta, mean, 1e-12);
  EXPECT_NEAR(r->std_error, std::sqrt(var / static_cast<double>(a.size())), 1e-12);
  EXPECT_EQ(r->chunks, 10);
  EXPECT_LT(r->ci_low, r->mean_delta);
  EXPECT_GT(r->ci_high, r->mean_delta);
  EXPECT_TRUE(r->distinguishable);  // a 0.01 shift over 1270 tokens with sd 0.05 is clear
}

TEST(Paired, IdenticalVariantsAreNotDistinguishable) {
  std::vector<double> a(254, 1.0);
  auto r = paired_compare(a, a, {.tokens_per_chunk = 127});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->mean_delta, 0.0);
  EXPECT_FALSE(r->distinguishable);
}

TEST(Paired, RejectsMismatchedInputs) {
  std::vector<double> a(10, 1.0), b(11, 1.0);
  EXPECT_FALSE(paired_compare(a, b, {}).ok());
  EXPECT_FALSE(paired_compare(a, a, {.tokens_per_chunk = 3}).ok());
}

}  // namespace
}  // namespace qmix
