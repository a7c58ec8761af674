// Sensitivity of synthetic tensors: better types give smaller errors, the imatrix weighs the
// error and steers the quantizer, row sampling is an unbiased scale-up, the cache returns what
// was measured, dormant experts count for nothing, and the mix normalises corpus scale away.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "recipe/plan_sensitivity.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

using G = GgmlType;

struct Synthetic {
  std::vector<float> values;
  int64_t cols = 256, rows = 64, n_mat = 1;
};

Synthetic gaussian(int64_t rows, int64_t n_mat = 1, uint64_t seed = 7) {
  Synthetic s;
  s.rows = rows;
  s.n_mat = n_mat;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  s.values.resize(static_cast<size_t>(s.cols * rows * n_mat));
  for (float& v : s.values) v = dist(rng);
  return s;
}

SensitivityTensor tensor_of(const Synthetic& s, std::vector<GgmlType> types) {
  SensitivityTensor t;
  t.name = "blk.0.ffn_up.weight";
  t.source_type = G::F32;
  t.data = std::as_bytes(std::span(s.values));
  t.cols = s.cols;
  t.rows = s.rows;
  t.n_mat = s.n_mat;
  t.types = std::move(types);
  return t;
}

// Importance concentrated on the first 16 channels (like outlier features).
std::vector<float> skewed_importance(int64_t cols) {
  std::vector<float> im(static_cast<size_t>(cols), 0.01f);
  for (int64_t j = 0; j < 16; ++j) im[static_cast<size_t>(j)] = 100.0f;
  return im;
}

TEST(PlanSensitivity, ErrorDecreasesWithBetterTypes) {
  const Synthetic s = gaussian(64);
  const std::vector<G> ladder = {G::Q2_K, G::Q3_K, G::Q4_K, G::Q5_K, G::Q6_K, G::Q8_0, G::F16};
  const auto r = measure_tensor(tensor_of(s, ladder), {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  for (size_t i = 1; i < ladder.size(); ++i)
    EXPECT_LT(r->error.at(ladder[i]), r->error.at(ladder[i - 1])) << quant_type(ladder[i]).name;
  // Relative error of Q4_K on Gaussian weights: a few thousandths (4.5 bits, 6 dB per bit).
  EXPECT_GT(r->relative(G::Q4_K), 1e-4);
  EXPECT_LT(r->relative(G::Q4_K), 2e-2);
  EXPECT_EQ(r->sampled_rows, 64);
}

TEST(PlanSensitivity, ImatrixWeighsTheErrorAndSteersTheQuantizer) {
  const Synthetic s = gaussian(64);
  const std::vector<float> im = skewed_importance(s.cols);
  SensitivityTensor uniform = tensor_of(s, {G::Q4_K});
  SensitivityTensor weighted = uniform;
  weighted.weights.channel = im;
  SensitivityTensor steered = weighted;
  steered.quant_importance = im;  // quantized with the imatrix, as quantize --imatrix does
  const auto u = measure_tensor(uniform, {});
  const auto w = measure_tensor(weighted, {});
  const auto q = measure_tensor(steered, {});
  ASSERT_TRUE(u.ok() && w.ok() && q.ok());
  EXPECT_NE(w->error.at(G::Q4_K), u->error.at(G::Q4_K));
  // The quantizer that knows the importance spends its precision on the heavy channels.
  EXPECT_LT(q->error.at(G::Q4_K), 0.9 * w->error.at(G::Q4_K));
}

TEST(PlanSensitivity, SampledRowsScaleUpToTheFullTensor) {
  const Synthetic s = gaussian(1024);
  SensitivityOptions sampled;
  sampled.max_rows = 128;
  SensitivityOptions full;
  full.max_rows = 1024;
  const auto a = measure_tensor(tensor_of(s, {G::Q4_K}), sampled);
  const auto b = measure_tensor(tensor_of(s, {G::Q4_K}), full);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->sampled_rows, 128);
  EXPECT_NEAR(a->error.at(G::Q4_K) / b->error.at(G::Q4_K), 1.0, 0.05);
  EXPECT_NEAR(a->energy / b->energy, 1.0, 0.05);
  EXPECT_EQ(sampled_rows(10, 4), (std::vector<int64_t>{1, 3, 6, 8}));
  EXPECT_EQ(sampled_rows(3, 8), (std::vector<int64_t>{0, 1, 2}));
}

TEST(PlanSensitivity, CacheReturnsTheMeasuredValuesAndAddsNewTypes) {
  test::TempDir dir;
  const Synthetic s = gaussian(64);
  SensitivityOptions o;
  o.cache_dir = dir.path();
  const auto first = measure_tensor(tensor_of(s, {G::Q4_K}), o);
  const auto again = measure_tensor(tensor_of(s, {G::Q4_K}), o);
  const auto more = measure_tensor(tensor_of(s, {G::Q4_K, G::Q6_K}), o);
  ASSERT_TRUE(first.ok() && again.ok() && more.ok());
  EXPECT_FALSE(first->from_cache);
  EXPECT_TRUE(again->from_cache);
  EXPECT_FALSE(more->from_cache);  // Q6_K had to be measured
  EXPECT_DOUBLE_EQ(again->error.at(G::Q4_K), first->error.at(G::Q4_K));
  EXPECT_DOUBLE_EQ(again->energy, first->energy);
  Synthetic changed = s;
  changed.values[0] += 0.5f;  // other content, other key
  const auto other = measure_tensor(tensor_of(changed, {G::Q4_K}), o);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->from_cache);
}

TEST(PlanSensitivity, DormantExpertsCountForNothing) {
  const Synthetic s = gaussian(32, 2);
  SensitivityTensor both = tensor_of(s, {G::Q3_K});
  both.weights.activity = {1.0, 1.0};
  SensitivityTensor one = both;
  one.weights.activity = {2.0, 0.0};  // expert 1 never routed to
  const auto a = measure_tensor(both, {});
  const auto b = measure_tensor(one, {});
  ASSERT_TRUE(a.ok() && b.ok());
  // Expert 0 alone, counted twice, versus both experts once each: equal only if the experts
  // had equal errors, which random weights never give exactly.
  EXPECT_NE(a->error.at(G::Q3_K), b->error.at(G::Q3_K));
  SensitivityTensor only0 = both;
  only0.n_mat = 1;
  only0.data = only0.data.first(only0.data.size() / 2);
  only0.weights.activity.clear();
  const auto c = measure_tensor(only0, {});
  ASSERT_TRUE(c.ok());
  EXPECT_NEAR(b->error.at(G::Q3_K), 2 * c->error.at(G::Q3_K), 1e-9 * c->error.at(G::Q3_K));
}

ImatrixEntry entry(const std::string& name, std::vector<double> mean_sq, int64_t rows) {
  ImatrixEntry e;
  e.name = name;
  e.n_per_row = static_cast<int64_t>(mean_sq.size());
  for (const double v : mean_sq) e.sum_sq.push_back(v * static_cast<double>(rows));
  e.counts = {rows};
  return e;
}

TEST(PlanSensitivity, MixNormalisesEachFileAndWeighsThem) {
  Imatrix a, b, b_louder;
  a.entries = {entry("t0", {1, 1}, 10), entry("t1", {4, 4}, 10)};
  b.entries = {entry("t0", {2, 2}, 30), entry("t1", {2, 2}, 30)};
  b_louder.entries = {entry("t0", {20, 20}, 99), entry("t1", {20, 20}, 99)};
  for (Imatrix* m : {&a, &b, &b_louder}) m->sort_entries();
  const std::vector<WeightedImatrix> ab = {{&a, 1.0}, {&b, 3.0}};
  const std::vector<WeightedImatrix> ab_louder = {{&a, 1.0}, {&b_louder, 3.0}};
  const auto mix = ImportanceMix::create(ab);
  const auto mix_louder = ImportanceMix::create(ab_louder);
  ASSERT_TRUE(mix.ok() && mix_louder.ok());
  // a: G = 2, so t0 → 0.5; b: G = 2, t0 → 1. Mixed 0.25·0.5 + 0.75·1 = 0.875.
  const ErrorWeights w = mix->weights_for("t0", 2, 1);
  ASSERT_EQ(w.channel.size(), 2u);
  EXPECT_FLOAT_EQ(w.channel[0], 0.875f);
  // A corpus-wide scale and a longer corpus change nothing.
  EXPECT_EQ(mix_louder->weights_for("t0", 2, 1).channel, w.channel);
  EXPECT_TRUE(mix->weights_for("missing", 2, 1).channel.empty());
  const std::vector<WeightedImatrix> bad = {{&a, -1.0}};
  EXPECT_FALSE(ImportanceMix::create(bad).ok());
}

TEST(PlanSensitivity, RowsThatDoNotFitTheTypeAreAnError) {
  Synthetic s = gaussian(4);
  s.cols = 96;
  s.values.resize(static_cast<size_t>(96 * 4));
  const auto r = measure_tensor(tensor_of(s, {G::Q4_K}), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("do not fit"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace qmix
