#include <gtest/gtest.h>

#include "recipe/extract.h"
#include "recipe/interop.h"
#include "recipe/name_regex.h"
#include "recipe/recipe_test_util.h"
#include "recipe/recipe_toml.h"
#include "recipe/transfer.h"

namespace qmix {
namespace {

using G = GgmlType;

Recipe parse(std::string_view text) {
  auto r = parse_recipe(text, "t.toml");
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : Recipe{};
}

// The regex of a rule must select exactly the tensors its selectors select.
TEST(RecipeInterop, RuleRegexSelectsWhatTheRuleSelects) {
  const Recipe recipe = parse(R"(
[[rule]]
role = ["ffn_gate", "ffn_up"]
layers = "12-16"
type = "q4_K"
provenance = "data"
reason = "r"
[[rule]]
role = "attn_q.bias"
type = "f32"
provenance = "architecture"
reason = "r"
[[rule]]
role = "token_embd"
type = "q6_K"
provenance = "architecture"
reason = "r"
[[rule]]
layers = "0,27"
type = "q8_0"
provenance = "architecture"
reason = "r"
[[rule]]
role = "ffn_down"
match = 'blk\.1[0-9]\.'
type = "q5_K"
provenance = "manual"
reason = "r"
[[rule]]
type = "q4_K"
provenance = "manual"
reason = "r"
)");
  std::vector<TensorDesc> tensors = test::ud_like_hybrid(28);
  tensors.push_back({"blk.3.attn_q.bias", G::F32, {256}});
  tensors.push_back({"blk.13.ffn_gate.bias", G::F32, {256}});
  auto compiled = CompiledRecipe::compile(recipe);
  ASSERT_TRUE(compiled.ok());
  for (size_t r = 0; r < recipe.rules.size(); ++r) {
    auto regex_text = rule_regex(recipe.rules[r]);
    ASSERT_TRUE(regex_text.ok()) << regex_text.error().message;
    auto regex = NameRegex::compile(*regex_text);
    ASSERT_TRUE(regex.ok()) << regex.error().message;
    size_t hits = 0;
    for (const TensorDesc& t : tensors) {
      const bool by_rule = compiled->matches(r, t.name, parse_tensor_name(t.name));
      EXPECT_EQ(regex->search(t.name), by_rule) << *regex_text << " on " << t.name;
      hits += by_rule;
    }
    EXPECT_GT(hits, 0u) << "rule " << r + 1;
  }
}

TEST(RecipeInterop, ExportsInEachToolsPrecedence) {
  const Recipe recipe = parse(R"(
[[rule]]
role = "ffn_down"
type = "q4_K"
provenance = "architecture"
reason = "r"
[[rule]]
role = "ffn_down"
layers = "0-1"
type = "q6_K"
provenance = "data"
reason = "r"
)");
  const std::string a = "^(?:blk\\.[0-9]+\\.)?(?:ffn_down(?:\\.weight|\\.bias)?)$=q4_K";
  const std::string b = "^blk\\.(?:0|1)\\.(?:ffn_down(?:\\.weight|\\.bias)?)$=q6_K";
  auto llama = export_recipe(recipe, InteropFormat::kLlamaQuantize);
  ASSERT_TRUE(llama.ok());
  // Both tools take the first matching pattern: the exception comes first.
  EXPECT_EQ(*llama, "--tensor-type '" + b + "'\n--tensor-type '" + a + "'\n");
  auto file = export_recipe(recipe, InteropFormat::kTensorTypeFile);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(*file, b + "\n" + a + "\n");
  auto ik = export_recipe(recipe, InteropFormat::kIkCustomQ);
  ASSERT_TRUE(ik.ok());
  EXPECT_EQ(*ik, "--custom-q '" + b + "," + a + "'\n");
  // Reading each back restores the recipe's order.
  auto back = import_recipe(*ik, InteropFormat::kIkCustomQ, "ik.txt");
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_EQ(back->rules.size(), 2u);
  EXPECT_EQ(back->rules[0].type, G::Q4_K);
  EXPECT_EQ(back->rules[1].type, G::Q6_K);
  EXPECT_EQ(back->rules[1].provenance, Provenance::kManual);
}

TEST(RecipeInterop, RefusesWhatOtherToolsCannotRead) {
  const Recipe limits = parse(
      "[[rule]]\nrole = \"ssm_out\"\nmin = \"q8_0\"\nprovenance = \"architecture\"\nreason = "
      "\"r\"\n");
  auto e = export_recipe(limits, InteropFormat::kLlamaQuantize);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("pass --model"), std::string::npos) << e.error().message;
  const Recipe upper = parse(
      "[[rule]]\nmatch = '\\Dffn'\ntype = \"q4_K\"\nprovenance = \"manual\"\nreason = \"r\"\n");
  EXPECT_FALSE(export_recipe(upper, InteropFormat::kLlamaQuantize).ok());
  EXPECT_TRUE(export_recipe(upper, InteropFormat::kIkCustomQ).ok());
  EXPECT_FALSE(import_recipe("--tensor-type ffn_down", InteropFormat::kLlamaQuantize, "x").ok());
  EXPECT_FALSE(import_recipe("--imatrix x.dat", InteropFormat::kLlamaQuantize, "x").ok());
  auto imported = import_recipe("# mine\n--tensor-type=FFN_DOWN=Q6_K \\\n  attn_v=q8_0\n",
                                InteropFormat::kLlamaQuantize, "x");
  ASSERT_TRUE(imported.ok()) << imported.error().message;
  // Lowercased as llama-quantize does; reversed (its first match is the recipe's last).
  EXPECT_EQ(imported->rules[1].match, "ffn_down");
  EXPECT_EQ(imported->rules[0].type, G::Q8_0);
}

TEST(RecipeTransfer, LayerCountsMustFitOrScale) {
  const ModelTensors source = test::model_of(test::ud_like_hybrid(28), "big.gguf");
  auto extracted = extract_recipe(source);
  ASSERT_TRUE(extracted.ok());
  const ModelTensors target = test::model_of(test::ud_like_hybrid(56), "bigger.gguf");
  auto exact = transfer_recipe(extracted->recipe, target, LayerMapping::kExact);
  ASSERT_FALSE(exact.ok());
  EXPECT_NE(exact.error().message.find("for 28 blocks but bigger.gguf has 56"), std::string::npos)
      << exact.error().message;
  auto scaled = transfer_recipe(extracted->recipe, target, LayerMapping::kScale);
  ASSERT_TRUE(scaled.ok()) << scaled.error().message;
  EXPECT_TRUE(scaled->layers_scaled);
  EXPECT_EQ(scaled->recipe.layers, 56);
  // ffn_gate/up 12-16 of 28 cover 24-33 of 56; every tensor of the bigger model is decided.
  bool found = false;
  for (const RecipeRule& r : scaled->recipe.rules)
    found = found || (r.layers && r.layers->to_string() == "24-33" && r.type == G::Q4_K);
  EXPECT_TRUE(found) << write_recipe(scaled->recipe);
  EXPECT_TRUE(scaled->resolution.uncovered.empty());
  EXPECT_FALSE(scaled->architecture_mismatch);
  // Same block count, other architecture: applies, and the mismatch is reported.
  const ModelTensors other = test::model_of(test::ud_like_hybrid(28), "other.gguf", "llama");
  auto mismatch = transfer_recipe(extracted->recipe, other, LayerMapping::kExact);
  ASSERT_TRUE(mismatch.ok());
  ASSERT_TRUE(mismatch->architecture_mismatch.has_value());
  EXPECT_FALSE(transfer_is_clean(*mismatch));
  auto same = transfer_recipe(extracted->recipe, source, LayerMapping::kExact);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(transfer_is_clean(*same)) << format_transfer(*same, source);
}

}  // namespace
}  // namespace qmix
