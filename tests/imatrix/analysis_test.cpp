// Statistics, comparison and merge math on hand-made importance matrices whose answers are
// worked out in the comments.
#include <gtest/gtest.h>

#include <cmath>

#define TOML_HEADER_ONLY 1  // the test parses the emitted patch without linking toml++
#include <toml++/toml.h>

#include "imatrix/compare.h"
#include "imatrix/merge.h"
#include "imatrix/stats.h"

namespace qmix {
namespace {

ImatrixEntry entry(std::string name, int64_t n_per_row, std::vector<double> sums,
                   std::vector<int64_t> counts) {
  ImatrixEntry e;
  e.name = std::move(name);
  e.n_per_row = n_per_row;
  e.sum_sq = std::move(sums);
  e.counts = std::move(counts);
  return e;
}

// Four dense tensors of two channels, importance (a, b) per tensor, 10 rows each.
Imatrix four_tensors(const std::vector<double>& scale, int64_t rows = 10) {
  Imatrix im;
  const char* names[] = {"blk.0.attn_q.weight", "blk.0.ffn_up.weight", "blk.1.attn_q.weight",
                         "blk.1.ffn_up.weight"};
  for (size_t i = 0; i < 4; ++i)
    im.entries.push_back(entry(
        names[i], 2,
        {1.0 * scale[i] * static_cast<double>(rows), 3.0 * scale[i] * static_cast<double>(rows)},
        {rows}));
  im.chunk_count = 1;
  return im;
}

// ---- stats ----

TEST(ImatrixStats, PerTensorDefinitions) {
  Imatrix im;
  // Importance per channel: seven 1s and one 25 (rows = 2): mean 4, max 25, one channel
  // ≥ 5 × mean, variance (7·9 + 441)/8 = 63.
  im.entries.push_back(entry("blk.0.attn_q.weight", 8, {2, 2, 2, 2, 2, 2, 2, 50}, {2}));
  // Experts pooled: rows 1 + 3; channel sums (1+3, 2+6) / 4 = (1, 2).
  im.entries.push_back(entry("blk.1.ffn_up_exps.weight", 2, {1, 2, 3, 6}, {1, 3}));
  const ImatrixStats s = compute_stats(im, {.zone_size = 1, .top = 1});
  ASSERT_EQ(s.tensors.size(), 2u);
  const TensorStats& q = s.tensors[0];
  EXPECT_EQ(q.block, 0);
  EXPECT_EQ(q.kind, "attn_q.weight");
  EXPECT_DOUBLE_EQ(q.sum, 32);
  EXPECT_DOUBLE_EQ(q.mean, 4);
  EXPECT_DOUBLE_EQ(q.max_over_mean(), 25.0 / 4);
  EXPECT_DOUBLE_EQ(q.cv, std::sqrt(63.0) / 4);
  EXPECT_DOUBLE_EQ(q.dominant, 1.0 / 8);
  const TensorStats& x = s.tensors[1];
  EXPECT_EQ(x.rows, 4);
  EXPECT_DOUBLE_EQ(x.mean, 1.5);
  EXPECT_DOUBLE_EQ(q.share, 4 / 5.5);
  EXPECT_DOUBLE_EQ(x.share, 1.5 / 5.5);
  ASSERT_EQ(s.zones.size(), 2u);
  EXPECT_EQ(s.zones[1].first_block, 1);
  EXPECT_DOUBLE_EQ(s.zones[0].all, 4);
  ASSERT_EQ(s.top.size(), 1u);
  EXPECT_EQ(s.top[0], 0u);
}

TEST(ImatrixStats, ExpertWithoutRowsContributesNothing) {
  const ImatrixEntry e = entry("blk.0.ffn_down_exps.weight", 2, {4, 8, 0, 0}, {4, 0});
  EXPECT_EQ(channel_importance(e), (std::vector<double>{1, 2}));
  EXPECT_EQ(e.mean_sq(1), (std::vector<float>{1, 1}));  // llama-quantize's fill value
}

// ---- compare ----

TEST(ImatrixCompare, IdenticalFilesGiveOne) {
  const Imatrix a = four_tensors({1, 2, 3, 4});
  auto c = compare_imatrices(a, a);
  ASSERT_TRUE(c.ok());
  for (const auto& t : c->tensors) {
    EXPECT_DOUBLE_EQ(t.ratio, 1.0) << t.name;
    EXPECT_EQ(t.verdict, Verdict::kKeep);
  }
}

TEST(ImatrixCompare, RatiosIgnoreTokenCountAndGlobalScale) {
  // The domain corpus is 7× longer and its activations 3× larger everywhere.
  auto c = compare_imatrices(four_tensors({3, 6, 9, 12}, 70), four_tensors({1, 2, 3, 4}));
  ASSERT_TRUE(c.ok());
  for (const auto& t : c->tensors) EXPECT_NEAR(t.ratio, 1.0, 1e-12) << t.name;
  EXPECT_NEAR(c->domain_scale / c->generic_scale, 3.0, 1e-12);
}

TEST(ImatrixCompare, OneTensorMovesAgainstTheRest) {
  // Tensor 2 is 4× more important on the domain: G(domain) = 4^(1/4) G(generic), so its
  // ratio is 4/√2 and every other tensor's 1/√2.
  auto c = compare_imatrices(four_tensors({1, 1, 4, 1}), four_tensors({1, 1, 1, 1}));
  ASSERT_TRUE(c.ok());
  for (size_t i = 0; i < 4; ++i) {
    const double want = i == 2 ? 4 / std::sqrt(2.0) : 1 / std::sqrt(2.0);
    EXPECT_NEAR(c->tensors[i].ratio, want, 1e-12);
    EXPECT_EQ(c->tensors[i].verdict, i == 2 ? Verdict::kPromote : Verdict::kDemote);
  }
  EXPECT_FALSE(c->has_intervals);
  ASSERT_EQ(c->zones.size(), 1u);  // zone of 8 blocks covers blocks 0-1
  ASSERT_EQ(c->kinds, (std::vector<std::string>{"attn_q.weight", "ffn_up.weight"}));
  EXPECT_NEAR(c->zones[0].ratio[0], std::sqrt(4 / std::sqrt(2.0) / std::sqrt(2.0)), 1e-12);
}

// Chunk statistics: every chunk of tensor t has total chunk_sum[t] over `rows` rows.
void add_chunks(Imatrix& im, const std::vector<std::vector<double>>& per_chunk_scale) {
  im.chunk_count = static_cast<int64_t>(per_chunk_scale.size());
  for (size_t t = 0; t < im.entries.size(); ++t) {
    auto& e = im.entries[t];
    e.chunk_sum_sq.clear();
    e.chunk_counts.clear();
    for (const auto& scale : per_chunk_scale) {
      e.chunk_sum_sq.push_back(4.0 * scale[t] * 10);  // (1 + 3) × scale × rows
      e.chunk_counts.push_back(10);
    }
  }
}

TEST(ImatrixCompare, BootstrapIntervalsFromChunks) {
  Imatrix d = four_tensors({1, 1, 4, 1});
  Imatrix g = four_tensors({1, 1, 1, 1});
  // Constant chunks: the interval collapses onto the ratio.
  add_chunks(d, std::vector<std::vector<double>>(5, {1, 1, 4, 1}));
  add_chunks(g, std::vector<std::vector<double>>(5, {1, 1, 1, 1}));
  auto c = compare_imatrices(d, g, {.bootstrap = 200});
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->has_intervals);
  for (const auto& t : c->tensors) {
    EXPECT_NEAR(t.ci_low, t.ratio, 1e-9);
    EXPECT_NEAR(t.ci_high, t.ratio, 1e-9);
    EXPECT_FALSE(t.uncertain);
  }
  // Tensor 2's importance comes from one chunk in five (a third of the resamples miss it):
  // its interval straddles 1.10.
  add_chunks(d, {{1, 1, 0.2, 1}, {1, 1, 0.2, 1}, {1, 1, 0.2, 1}, {1, 1, 0.2, 1}, {1, 1, 19.2, 1}});
  c = compare_imatrices(d, g, {.bootstrap = 400});
  ASSERT_TRUE(c.ok());
  const auto& t2 = c->tensors[2];
  EXPECT_EQ(t2.verdict, Verdict::kPromote);
  EXPECT_LT(t2.ci_low, 1.10);
  EXPECT_GT(t2.ci_high, t2.ratio);
  EXPECT_TRUE(t2.uncertain);
}

TEST(ImatrixCompare, RejectsDifferentModelsAndBadThresholds) {
  Imatrix other = four_tensors({1, 1, 1, 1});
  other.entries[1] = entry("blk.0.ffn_up.weight", 3, {1, 1, 1}, {1});
  EXPECT_FALSE(compare_imatrices(four_tensors({1, 1, 1, 1}), other).ok());
  Imatrix disjoint;
  disjoint.entries.push_back(entry("blk.9.x.weight", 2, {1, 1}, {1}));
  EXPECT_FALSE(compare_imatrices(four_tensors({1, 1, 1, 1}), disjoint).ok());
  EXPECT_FALSE(compare_imatrices(four_tensors({1, 1, 1, 1}), four_tensors({1, 1, 1, 1}),
                                 {.demote_below = 1.2, .promote_above = 1.1})
                   .ok());
}

TEST(ImatrixCompare, RecipePatchIsValidTomlWithEvidence) {
  auto c = compare_imatrices(four_tensors({1, 1, 4, 1}), four_tensors({1, 1, 1, 1}));
  ASSERT_TRUE(c.ok());
  const std::string text =
      recipe_patch_toml(*c, {.domain_name = "dom \"x\".gguf", .generic_name = "gen.gguf"});
  toml::table doc;
  ASSERT_NO_THROW(doc = toml::parse(text)) << text;
  const auto* rules = doc["rule"].as_array();
  ASSERT_NE(rules, nullptr);
  ASSERT_EQ(rules->size(), 4u);
  const auto& promoted = *(*rules)[2].as_table();
  EXPECT_EQ(promoted["match"].value<std::string>(), R"(^blk\.1\.attn_q\.weight$)");
  EXPECT_EQ(promoted["type"].value<std::string>(), "Q6_K");
  EXPECT_EQ(promoted["provenance"].value<std::string>(), "data");
  EXPECT_NEAR(*promoted["evidence"]["ratio"].value<double>(), 4 / std::sqrt(2.0), 1e-5);
  EXPECT_EQ(promoted["evidence"]["domain"].value<std::string>(), "dom \"x\".gguf");
  EXPECT_EQ((*(*rules)[0].as_table())["type"].value<std::string>(), "Q3_K");
}

// ---- merge ----

TEST(ImatrixMerge, SumsWeighByRows) {
  Imatrix a = four_tensors({1, 1, 1, 1}, 10);
  Imatrix b = four_tensors({4, 4, 4, 4}, 30);
  a.datasets = {"a.txt"};
  b.datasets = {"b.txt"};
  b.chunk_count = 3;
  const std::vector<Imatrix> inputs = {a, b};
  auto m = merge_imatrices(inputs);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->chunk_count, 4);
  EXPECT_EQ(m->datasets, (std::vector<std::string>{"a.txt", "b.txt"}));
  // E[x²] of channel 0: (1·10 + 4·30) / 40 = 3.25.
  EXPECT_EQ(m->entries[0].counts, std::vector<int64_t>{40});
  EXPECT_FLOAT_EQ(m->entries[0].mean_sq(0)[0], 3.25f);
}

TEST(ImatrixMerge, LegacyFlatEntryTakesTheExpertShape) {
  Imatrix experts, flat;
  experts.entries.push_back(entry("blk.0.ffn_up_exps.weight", 2, {2, 2, 6, 6}, {2, 6}));
  // A legacy read: one matrix of 4 values, count 4 (applied to every expert).
  flat.entries.push_back(entry("blk.0.ffn_up_exps.weight", 4, {4, 4, 4, 4}, {4}));
  for (bool flat_first : {false, true}) {
    std::vector<Imatrix> inputs = {experts, flat};
    if (flat_first) std::swap(inputs[0], inputs[1]);
    auto m = merge_imatrices(inputs);
    ASSERT_TRUE(m.ok()) << m.error().message;
    const auto& e = m->entries[0];
    EXPECT_EQ(e.n_per_row, 2);
    EXPECT_EQ(e.counts, (std::vector<int64_t>{6, 10}));
    EXPECT_EQ(e.sum_sq, (std::vector<double>{6, 6, 10, 10}));
  }
}

TEST(ImatrixMerge, ChunkStatisticsConcatenateOrDrop) {
  Imatrix a = four_tensors({1, 1, 1, 1});
  Imatrix b = four_tensors({1, 1, 1, 1});
  add_chunks(a, {{1, 1, 1, 1}, {2, 2, 2, 2}});
  add_chunks(b, {{3, 3, 3, 3}});
  auto m = merge_imatrices(std::vector<Imatrix>{a, b});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->entries[0].chunk_counts.size(), 3u);
  EXPECT_DOUBLE_EQ(m->entries[0].chunk_sum_sq[2], 120);
  b.entries[0].chunk_counts.clear();
  b.entries[0].chunk_sum_sq.clear();
  m = merge_imatrices(std::vector<Imatrix>{a, b});
  ASSERT_TRUE(m.ok());
  for (const auto& e : m->entries) EXPECT_TRUE(e.chunk_counts.empty());
}

TEST(ImatrixMerge, ShapeMismatchIsAnError) {
  Imatrix a = four_tensors({1, 1, 1, 1});
  Imatrix b = four_tensors({1, 1, 1, 1});
  b.entries[3] = entry("blk.1.ffn_up.weight", 3, {1, 1, 1}, {1});
  auto m = merge_imatrices(std::vector<Imatrix>{a, b});
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("blk.1.ffn_up.weight"), std::string::npos);
}

}  // namespace
}  // namespace qmix
