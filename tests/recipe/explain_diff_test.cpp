// Golden outputs of explain and diff on small hand-made inputs; the expected text was written
// from the precedence rules in docs/recipe.md, not copied from a run.
#include <gtest/gtest.h>

#include "recipe/diff.h"
#include "recipe/explain.h"
#include "recipe/recipe_toml.h"

namespace qmix {
namespace {

using G = GgmlType;

constexpr std::string_view kRecipe = R"(name = "golden"
base = "Q4_K_M"

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
role = "ffn_down"
layers = "1"
type = "q6_K"
provenance = "data"
reason = "sensitive block"

[[rule]]
match = 'attn_v'
type = "q8_0"
provenance = "manual"
reason = "never matches here"
)";

std::vector<TensorDesc> tensors() {
  return {{"token_embd.weight", G::BF16, {256, 4}},
          {"blk.0.ffn_down.weight", G::BF16, {256, 4}},
          {"blk.1.ffn_down.weight", G::BF16, {256, 4}},
          {"blk.1.ssm_out.weight", G::BF16, {256, 4}}};
}

TEST(RecipeExplain, GoldenTable) {
  auto recipe = parse_recipe(kRecipe, "golden.toml");
  ASSERT_TRUE(recipe.ok()) << recipe.error().message;
  auto compiled = CompiledRecipe::compile(*recipe);
  ASSERT_TRUE(compiled.ok());
  const auto t = tensors();
  const Resolution res = resolve_recipe(*compiled, t);
  const std::string expected =
      "tensor                 type      decided by               why\n"
      "token_embd.weight      q4_K      rule #2 (line 10, data)  budget\n"
      "blk.0.ffn_down.weight  q4_K      rule #2 (line 10, data)  budget\n"
      "blk.1.ffn_down.weight  q6_K      rule #3 (line 15, data)  sensitive block\n"
      "blk.1.ssm_out.weight   q8_0      rule #2 (line 10, data)  budget; raised from q4_K by "
      "rule #1 (line 4, architecture) (CONFLICT)\n"
      "conflict: blk.1.ssm_out.weight: rule #2 (line 10, data) chose q4_K below the floor q8_0 "
      "of rule #1 (line 4, architecture); q8_0 applies\n"
      "unused: rule #4 (line 22, manual) matches no tensor\n";
  EXPECT_EQ(format_explain(*recipe, t, res), expected);
}

TEST(RecipeDiff, GoldenZones) {
  // B moves blocks 1-2 of ffn_gate/ffn_up from q5_K to q4_K and token_embd to q8_0; B lacks
  // blk.2.extra and has blk.2.more.
  std::vector<TensorDesc> a = {{"token_embd.weight", G::Q6_K, {256, 8}}};
  for (int b = 0; b < 3; ++b)
    for (const char* role : {"ffn_gate", "ffn_up"})
      a.push_back({fmt::format("blk.{}.{}.weight", b, role), G::Q5_K, {256, 4}});
  std::vector<TensorDesc> b = a;
  b[0].type = G::Q8_0;
  for (size_t i = 3; i < b.size(); ++i) b[i].type = G::Q4_K;
  a.push_back({"blk.2.extra", G::F32, {4}});
  b.push_back({"blk.2.more", G::F32, {4}});
  const TypeDiff d = diff_type_tables(a, b);
  EXPECT_EQ(d.changed, 5u);
  EXPECT_EQ(d.compared, 7u);
  // Sizes: token_embd 8 rows of 256, q6_K 210 B/256 → q8_0 8 × 34 B/32; each ffn tensor
  // 4 rows: q5_K 176 B → q4_K 144 B per row.
  const int64_t embd_delta = 8 * 8 * 34 - 8 * 210;
  const int64_t ffn_delta = 4 * 4 * (144 - 176);
  ASSERT_EQ(d.zones.size(), 2u);
  EXPECT_EQ(d.zones[0].bytes_delta, embd_delta);
  EXPECT_EQ(d.zones[1].bytes_delta, ffn_delta);
  const std::string expected =
      "zone                      change        tensors  size\n"
      "token_embd                q6_K -> q8_0  1        +496 B\n"
      "blk.1-2 ffn_gate, ffn_up  q5_K -> q4_K  4        -512 B\n"
      "changed 5 of 7 tensors (a -> b)\n"
      "size 5.77 KiB -> 5.75 KiB (-16 B, -0.3%), bpw 5.766 -> 5.750\n"
      "only in a: blk.2.extra\n"
      "only in b: blk.2.more\n";
  EXPECT_EQ(format_diff(d, "a", "b"), expected);
}

}  // namespace
}  // namespace qmix
