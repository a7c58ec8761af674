// `recipe derive` on synthetic imatrices whose domain/generic ratios are known exactly: the
// generic file has importance 1 everywhere, the domain file values whose geometric mean is 1,
// so each ratio equals the domain value (imatrix/compare.h normalisation).
#include <gtest/gtest.h>

#include "recipe/derive.h"
#include "recipe/type_ladder.h"

namespace qmix {
namespace {

using G = GgmlType;

ImatrixEntry entry(const std::string& name, double mean_sq) {
  ImatrixEntry e;
  e.name = name;
  e.n_per_row = 4;
  e.sum_sq.assign(4, mean_sq * 10);
  e.counts = {10};
  return e;
}

// name → ratio; product of the ratios is 1.
const std::vector<std::pair<std::string, double>> kRatios = {
    {"blk.0.attn_q.weight", 0.5},  {"blk.0.attn_k.weight", 2.0},   {"blk.0.attn_v.weight", 1.6},
    {"blk.0.ffn_up.weight", 1.25}, {"blk.0.ffn_gate.weight", 1.0}, {"blk.0.ffn_down.weight", 0.5},
};

ImatrixComparison comparison() {
  Imatrix domain, generic;
  for (const auto& [name, ratio] : kRatios) {
    domain.entries.push_back(entry(name, ratio));
    generic.entries.push_back(entry(name, 1.0));
  }
  domain.sort_entries();
  generic.sort_entries();
  auto c = compare_imatrices(domain, generic);
  EXPECT_TRUE(c.ok());
  return *c;
}

RecipeRule role_rule(std::vector<Role> roles, std::optional<G> type, Provenance p,
                     std::optional<G> min_type = std::nullopt) {
  RecipeRule r;
  for (Role role : roles) r.roles.push_back({role, std::nullopt});
  r.type = type;
  r.min_type = min_type;
  r.provenance = p;
  r.reason = "test";
  return r;
}

Recipe base_recipe() {
  Recipe r;
  r.name = "base";
  r.rules = {
      role_rule({Role::kAttnQ, Role::kAttnK, Role::kFfnGate, Role::kFfnDown}, G::Q4_K,
                Provenance::kArchitecture),
      role_rule({Role::kAttnV}, G::Q6_K, Provenance::kArchitecture),
      role_rule({Role::kFfnUp}, G::IQ4_XS, Provenance::kManual),
      role_rule({Role::kFfnDown}, std::nullopt, Provenance::kArchitecture, G::Q4_K),
  };
  return r;
}

DeriveOptions opts(int level, int top_n = 8, int top_m = 2) {
  DeriveOptions o;
  o.level = level;
  o.top_n = top_n;
  o.top_m = top_m;
  return o;
}

struct Expected_ {
  std::string tensor;
  G type;
  int level;
};

void expect_changes(const DeriveResult& d, const std::vector<Expected_>& want) {
  ASSERT_EQ(d.changes.size(), want.size());
  const Recipe base = base_recipe();
  ASSERT_EQ(d.recipe.rules.size(), base.rules.size() + want.size());
  for (size_t i = 0; i < base.rules.size(); ++i) EXPECT_EQ(d.recipe.rules[i], base.rules[i]);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(d.changes[i].tensor, want[i].tensor);
    EXPECT_EQ(d.changes[i].to, want[i].type) << want[i].tensor;
    EXPECT_EQ(d.changes[i].level, want[i].level) << want[i].tensor;
    const RecipeRule& rule = d.recipe.rules[base.rules.size() + i];
    EXPECT_EQ(rule.provenance, Provenance::kData);
    EXPECT_EQ(rule.type, want[i].type);
    EXPECT_FALSE(rule.reason.empty());
  }
  EXPECT_EQ(d.held_by_architecture, std::vector<std::string>{"blk.0.ffn_down.weight"});
}

TEST(RecipeDerive, Level1StepsByRatioFromTheBaseType) {
  auto d = derive_recipe(base_recipe(), comparison(), opts(1));
  ASSERT_TRUE(d.ok()) << d.error().message;
  // Sorted by name; ffn_gate (1.0) keeps; ffn_down (0.5) is held by its architecture floor.
  expect_changes(*d, {{"blk.0.attn_k.weight", G::Q5_K, 1},
                      {"blk.0.attn_q.weight", G::Q3_K, 1},
                      {"blk.0.attn_v.weight", G::Q8_0, 1},
                      {"blk.0.ffn_up.weight", G::Q5_K, 1}});
  const RecipeRule& q = d->recipe.rules[5];
  EXPECT_EQ(q.match, "^blk\\.0\\.attn_q\\.weight$");
  ASSERT_EQ(q.evidence.back().key, "ratio");
  EXPECT_NEAR(std::get<double>(q.evidence.back().value), 0.5, 1e-9);
  EXPECT_EQ(q.evidence.front().value, EvidenceValue(std::string("q4_K")));
}

TEST(RecipeDerive, Level1WithSizesIsBudgetNeutral) {
  // Every tensor 256 x 256. Unbalanced, level 1 costs +25600 bytes: attn_k q4_K→q5_K +8192,
  // attn_q q4_K→q3_K −8704, attn_v q6_K→q8_0 +15872, ffn_up iq4_xs→q5_K +10240. No unchanged
  // tensor has a ratio below 1 to demote (ffn_gate is 1.0, ffn_down is held by its floor), so
  // the weakest promotions are dropped: ffn_up (1.25), then attn_v (1.6), leaving −512 bytes;
  // re-promoting either would go above zero.
  ModelTensors sizes;
  for (const auto& [name, ratio] : kRatios) sizes.tensors.push_back({name, G::F32, {256, 256}});
  DeriveOptions o = opts(1);
  o.sizes = &sizes;
  auto d = derive_recipe(base_recipe(), comparison(), o);
  ASSERT_TRUE(d.ok()) << d.error().message;
  expect_changes(*d, {{"blk.0.attn_k.weight", G::Q5_K, 1}, {"blk.0.attn_q.weight", G::Q3_K, 1}});
  EXPECT_EQ(d->level1_bytes, -512);
  o.balance = DeriveBalance::kFree;
  auto free = derive_recipe(base_recipe(), comparison(), o);
  ASSERT_TRUE(free.ok());
  EXPECT_EQ(free->changes.size(), 4u);
  EXPECT_EQ(free->level1_bytes, 25600);
}

TEST(RecipeDerive, Level2RaisesTopNToQ8) {
  auto d = derive_recipe(base_recipe(), comparison(), opts(2, 2));
  ASSERT_TRUE(d.ok()) << d.error().message;
  // Ranking by ratio: attn_k (2.0), attn_v (1.6, already q8_0 at level 1), ffn_up (1.25).
  expect_changes(*d, {{"blk.0.attn_k.weight", G::Q8_0, 2},
                      {"blk.0.attn_q.weight", G::Q3_K, 1},
                      {"blk.0.attn_v.weight", G::Q8_0, 1},
                      {"blk.0.ffn_up.weight", G::Q5_K, 1}});
  const auto& ev = d->recipe.rules[4].evidence;
  EXPECT_TRUE(std::any_of(ev.begin(), ev.end(), [](const EvidenceItem& e) {
    return e.key == "rank" && e.value == EvidenceValue(int64_t{1});
  }));
}

TEST(RecipeDerive, Level3RaisesTopMToF16) {
  auto d = derive_recipe(base_recipe(), comparison(), opts(3, 3, 1));
  ASSERT_TRUE(d.ok()) << d.error().message;
  expect_changes(*d, {{"blk.0.attn_k.weight", G::F16, 3},
                      {"blk.0.attn_q.weight", G::Q3_K, 1},
                      {"blk.0.attn_v.weight", G::Q8_0, 1},
                      {"blk.0.ffn_up.weight", G::Q8_0, 2}});
}

TEST(RecipeDerive, RejectsBadLevelsAndCounts) {
  EXPECT_FALSE(derive_recipe(base_recipe(), comparison(), opts(0)).ok());
  EXPECT_FALSE(derive_recipe(base_recipe(), comparison(), opts(4)).ok());
  EXPECT_FALSE(derive_recipe(base_recipe(), comparison(), opts(2, -1)).ok());
}

TEST(TypeLadder, StepsAlongTheRungs) {
  EXPECT_EQ(ladder_step(G::Q4_K, 1), G::Q5_K);
  EXPECT_EQ(ladder_step(G::Q6_K, 1), G::Q8_0);
  EXPECT_EQ(ladder_step(G::Q8_0, 1), G::F16);
  EXPECT_EQ(ladder_step(G::IQ4_XS, 1), G::Q5_K);
  EXPECT_EQ(ladder_step(G::IQ3_XXS, -1), G::Q2_K);
  EXPECT_EQ(ladder_step(G::BF16, -1), G::Q8_0);
  EXPECT_EQ(ladder_step(G::Q2_K, -1), std::nullopt);
  EXPECT_EQ(ladder_step(G::F16, 1), std::nullopt);
  EXPECT_EQ(ladder_step(G::F32, -1), std::nullopt);
  for (int rung = 1; rung < 7; ++rung)
    EXPECT_GT(type_bits(*ladder_type(rung)), type_bits(*ladder_type(rung - 1)));
}

}  // namespace
}  // namespace qmix
