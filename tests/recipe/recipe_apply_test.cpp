#include "recipe/recipe_apply.h"

#include <gtest/gtest.h>

#include "recipe/recipe_test_util.h"
#include "recipe/recipe_toml.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

using G = GgmlType;

Resolution resolve_text(std::string_view toml, const std::vector<TensorDesc>& tensors,
                        Recipe* out = nullptr, std::span<const std::optional<GgmlType>> base = {}) {
  auto recipe = parse_recipe(toml, "t.toml");
  EXPECT_TRUE(recipe.ok()) << recipe.error().message;
  if (out) *out = *recipe;
  auto compiled = CompiledRecipe::compile(*recipe);
  EXPECT_TRUE(compiled.ok());
  return resolve_recipe(*compiled, tensors, base);
}

std::vector<TensorDesc> small_model() {
  return {{"token_embd.weight", G::BF16, {256, 8}},
          {"blk.0.attn_q.weight", G::BF16, {256, 8}},
          {"blk.0.attn_q.bias", G::F32, {256}},
          {"blk.0.ffn_down.weight", G::BF16, {256, 8}},
          {"blk.1.attn_q.weight", G::BF16, {256, 8}},
          {"blk.1.ffn_down.weight", G::BF16, {96, 8}},  // 96: no K-quant fits
          {"blk.1.ssm_out.weight", G::BF16, {256, 8}}};
}

TEST(RecipeApply, LastMatchingTypeDecides) {
  const auto tensors = small_model();
  const Resolution res = resolve_text(R"(
[[rule]]
type = "q4_K"
provenance = "manual"
reason = "default"
[[rule]]
role = "ffn_down"
layers = "1"
type = "q6_K"
provenance = "data"
reason = "sensitive"
[[rule]]
role = "attn_q.bias"
type = "f32"
provenance = "architecture"
reason = "1-D"
[[rule]]
match = 'no_such_tensor'
type = "q8_0"
provenance = "manual"
reason = "never matches"
)",
                                      tensors);
  EXPECT_EQ(res.picks[0].type, G::Q4_K);
  EXPECT_EQ(res.picks[0].chosen_by, 0);
  EXPECT_EQ(res.picks[2].type, G::F32);
  EXPECT_EQ(res.picks[3].type, G::Q4_K);
  EXPECT_EQ(res.picks[5].type, G::Q6_K);
  EXPECT_EQ(res.picks[5].chosen_by, 1);
  EXPECT_EQ(res.picks[5].matched, (std::vector<int>{0, 1}));
  EXPECT_EQ(res.unused_rules, (std::vector<size_t>{3}));
  EXPECT_TRUE(res.uncovered.empty());
  EXPECT_EQ(res.incompatible, (std::vector<size_t>{5}));  // q6_K rows are 256 wide
  EXPECT_TRUE(res.conflicts.empty());
}

TEST(RecipeApply, FloorsHoldAndCrossProvenanceIsAConflict) {
  const auto tensors = small_model();
  Recipe recipe;
  const Resolution res = resolve_text(R"(
[[rule]]
role = "ssm_out"
min = "q8_0"
provenance = "architecture"
reason = "recurrent error compounds"
[[rule]]
type = "q4_K"
provenance = "data"
reason = "budget"
[[rule]]
role = "attn_q"
max = "q5_K"
provenance = "data"
reason = "measured insensitive"
[[rule]]
role = "attn_q"
layers = "1"
type = "q6_K"
provenance = "data"
reason = "same provenance as the ceiling"
[[rule]]
role = "token_embd"
type = "q8_0"
provenance = "architecture"
reason = "embeddings"
[[rule]]
role = "token_embd"
max = "q6_K"
provenance = "data"
reason = "size"
)",
                                      tensors, &recipe);
  // ssm_out: the data rule chose q4_K, the architecture floor lifts it and says so.
  EXPECT_EQ(res.picks[6].chosen, G::Q4_K);
  EXPECT_EQ(res.picks[6].type, G::Q8_0);
  EXPECT_EQ(res.picks[6].floor_by, 0);
  // attn_q block 1: a data choice over a data ceiling is plain refinement, no conflict.
  EXPECT_EQ(res.picks[4].type, G::Q5_K);
  EXPECT_EQ(res.picks[4].ceiling_by, 2);
  // token_embd: an architecture choice over a data ceiling is a conflict too.
  EXPECT_EQ(res.picks[0].type, G::Q6_K);
  ASSERT_EQ(res.conflicts.size(), 2u);
  const RuleConflict& c = res.conflicts[0];
  EXPECT_EQ(c.kind, ConflictKind::kAboveCeiling);
  EXPECT_EQ(c.tensor, 0u);
  EXPECT_EQ(res.conflicts[1].kind, ConflictKind::kBelowFloor);
  EXPECT_EQ(res.conflicts[1].tensor, 6u);
  EXPECT_EQ(describe_conflict(recipe, tensors, res.conflicts[1]),
            "blk.1.ssm_out.weight: rule #2 (line 7, data) chose q4_K below the floor q8_0 of "
            "rule #1 (line 2, architecture); q8_0 applies");
}

TEST(RecipeApply, BaseTypesFillGapsAndLimitsApplyToThem) {
  const auto tensors = small_model();
  std::vector<std::optional<GgmlType>> base(tensors.size(), G::Q4_K);
  base[2] = G::F32;
  const Resolution res = resolve_text(R"(
[[rule]]
role = "ssm_out"
min = "q8_0"
provenance = "architecture"
reason = "recurrent error compounds"
[[rule]]
role = "ffn_down"
layers = "0"
type = "q6_K"
provenance = "data"
reason = "sensitive"
)",
                                      tensors, nullptr, base);
  EXPECT_EQ(res.picks[1].type, G::Q4_K);
  EXPECT_EQ(res.picks[1].chosen_by, -1);
  EXPECT_EQ(res.picks[3].type, G::Q6_K);
  EXPECT_EQ(res.picks[6].type, G::Q8_0);  // the preset's q4_K, lifted: not a conflict
  EXPECT_TRUE(res.conflicts.empty());
  EXPECT_TRUE(res.uncovered.empty());
  // Without a base the same recipe leaves most tensors undecided.
  const Resolution bare = resolve_text(R"(
[[rule]]
role = "ffn_down"
type = "q6_K"
provenance = "data"
reason = "x"
)",
                                       tensors);
  EXPECT_EQ(bare.uncovered.size(), 5u);
}

TEST(RecipeApply, FloorAboveCeilingKeepsTheFloor) {
  const auto tensors = small_model();
  const Resolution res = resolve_text(R"(
[[rule]]
type = "q4_K"
provenance = "manual"
reason = "x"
[[rule]]
role = "ssm_out"
min = "q8_0"
provenance = "architecture"
reason = "x"
[[rule]]
role = "ssm_out"
max = "q5_K"
provenance = "architecture"
reason = "x"
)",
                                      tensors);
  EXPECT_EQ(res.picks[6].type, G::Q8_0);
  ASSERT_EQ(res.conflicts.size(), 2u);  // the contradiction, and manual under architecture
  EXPECT_EQ(res.conflicts[0].kind, ConflictKind::kFloorAboveCeiling);
}

TEST(RecipeApply, ReadsTensorListFromGgufHeader) {
  test::TempDir dir;
  const auto model = test::model_of(test::ud_like_hybrid(8), "ud.gguf");
  test::write_gguf(dir / "ud.gguf", model, std::string("name = \"embedded\"\n"));
  auto read = read_model_tensors(dir / "ud.gguf");
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->architecture, "qwen35");
  EXPECT_EQ(read->layers, 8);
  EXPECT_EQ(read->embedded_recipe, "name = \"embedded\"\n");
  ASSERT_EQ(read->tensors.size(), model.tensors.size());
  for (size_t i = 0; i < model.tensors.size(); ++i) {
    EXPECT_EQ(read->tensors[i].name, model.tensors[i].name);
    EXPECT_EQ(read->tensors[i].type, model.tensors[i].type);
    EXPECT_EQ(read->tensors[i].shape, model.tensors[i].shape);
  }
}

}  // namespace
}  // namespace qmix
