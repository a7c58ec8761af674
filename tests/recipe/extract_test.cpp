#include "recipe/extract.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "recipe/recipe_test_util.h"
#include "recipe/recipe_toml.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

using G = GgmlType;

// Independent of extract's own check: write the recipe as TOML, parse it back, resolve it
// against the tensor list and compare every type.
void expect_reproduces(const Recipe& recipe, const ModelTensors& model) {
  const std::string text = write_recipe(recipe);
  auto parsed = parse_recipe(text, model.source + ".toml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message << "\n" << text;
  auto compiled = CompiledRecipe::compile(*parsed);
  ASSERT_TRUE(compiled.ok());
  const Resolution res = resolve_recipe(*compiled, model.tensors);
  ASSERT_EQ(res.picks.size(), model.tensors.size());
  for (size_t i = 0; i < model.tensors.size(); ++i)
    ASSERT_EQ(res.picks[i].type, model.tensors[i].type) << model.tensors[i].name << "\n" << text;
  EXPECT_TRUE(res.unused_rules.empty()) << text;
}

const RecipeRule* find_rule(const Recipe& r, std::vector<std::string> roles, std::string layers) {
  for (const RecipeRule& rule : r.rules) {
    std::vector<std::string> names;
    for (const RoleSelector& s : rule.roles) names.push_back(s.to_string());
    const std::string l = rule.layers ? rule.layers->to_string() : "";
    if (names == roles && l == layers) return &rule;
  }
  return nullptr;
}

TEST(Extract, UdLikeHybridIsExactAndCompact) {
  const ModelTensors model = test::model_of(test::ud_like_hybrid(28), "ud.gguf");
  auto result = extract_recipe(model);
  ASSERT_TRUE(result.ok()) << result.error().message;
  const Recipe& r = result->recipe;
  expect_reproduces(r, model);
  EXPECT_EQ(result->verified_tensors, model.tensors.size());
  EXPECT_EQ(result->exact_name_rules, 0u);
  EXPECT_EQ(r.layers, 28);
  // The mix has six role-wide types (f32, q4_K, q5_K, q6_K, q8_0, iq3_xxs, one rule each
  // after merging roles) and five deviations (attn_v 7, attn_qkv 9-10, ffn_gate/up 12-16,
  // ffn_down 0,27 and 2,5,11,17,23): eleven rules for 276 tensors.
  EXPECT_EQ(model.tensors.size(), 3u + 7 * 9 + 21 * 10);
  EXPECT_EQ(r.rules.size(), 11u) << write_recipe(r);

  const RecipeRule* gate_up = find_rule(r, {"ffn_gate", "ffn_up"}, "12-16");
  ASSERT_NE(gate_up, nullptr) << write_recipe(r);
  EXPECT_EQ(gate_up->type, G::Q4_K);
  EXPECT_EQ(gate_up->provenance, Provenance::kData);
  // Block 11 is full attention (no attn_qkv), so 9 and 10 still read as one range.
  const RecipeRule* qkv = find_rule(r, {"attn_qkv"}, "9-10");
  ASSERT_NE(qkv, nullptr) << write_recipe(r);
  EXPECT_EQ(qkv->type, G::Q6_K);
  // First and last blocks: a layer-position rule, marked architecture.
  const RecipeRule* edges = find_rule(r, {"ffn_down"}, "0,27");
  ASSERT_NE(edges, nullptr) << write_recipe(r);
  EXPECT_EQ(edges->provenance, Provenance::kArchitecture);
  const RecipeRule* scattered = find_rule(r, {"ffn_down"}, "2,5,11,17,23");
  ASSERT_NE(scattered, nullptr) << write_recipe(r);
  EXPECT_EQ(scattered->type, G::Q5_K);
  EXPECT_EQ(scattered->provenance, Provenance::kData);
  // Role-wide rules come first; every exception follows every role-wide rule.
  const auto first_exception = std::find_if(
      r.rules.begin(), r.rules.end(), [](const RecipeRule& x) { return x.layers.has_value(); });
  EXPECT_TRUE(std::all_of(first_exception, r.rules.end(),
                          [](const RecipeRule& x) { return x.layers.has_value(); }));
}

TEST(Extract, UnknownNamesGetNameRules) {
  std::vector<TensorDesc> tensors = test::ud_like_hybrid(4);
  tensors.push_back({"rope_factors_long.weight", G::F32, {64}});
  for (int b = 0; b < 4; ++b)
    tensors.push_back(
        {"blk." + std::to_string(b) + ".time_mix_w1.weight", b == 2 ? G::Q8_0 : G::F16, {256, 4}});
  tensors.push_back({"blk.1.attn_q.bias", G::F32, {256}});  // attn_q with two suffixes
  const ModelTensors model = test::model_of(std::move(tensors), "odd.gguf");
  auto result = extract_recipe(model);
  ASSERT_TRUE(result.ok()) << result.error().message;
  expect_reproduces(result->recipe, model);
  EXPECT_EQ(result->exact_name_rules, 0u);
}

TEST(Extract, EmbeddedRecipeIsReturnedVerbatim) {
  test::TempDir dir;
  const ModelTensors model = test::model_of(test::ud_like_hybrid(4), "ud.gguf");
  const std::string text =
      "# mine\nname = \"mine\"\n\n[[rule]]\ntype = \"q4_K\"\nprovenance = \"manual\"\nreason = "
      "\"all\"\n";
  test::write_gguf(dir / "with.gguf", model, text);
  auto read = read_model_tensors(dir / "with.gguf");
  ASSERT_TRUE(read.ok());
  auto result = extract_recipe(*read);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->embedded_text, text);
  EXPECT_EQ(result->recipe.name, "mine");
  ExtractOptions no_embedded;
  no_embedded.prefer_embedded = false;
  auto inferred = extract_recipe(*read, no_embedded);
  ASSERT_TRUE(inferred.ok());
  EXPECT_FALSE(inferred->embedded_text.has_value());
  expect_reproduces(inferred->recipe, *read);
}

// llama.cpp's own outputs: extracting from each quantized file must give back every tensor
// type, in few rules (a preset is a handful of role defaults plus layer-position bumps).
TEST(ExtractShared, LlamaCppQuantizedFilesRoundTrip) {
  QMIX_REQUIRE_SHARED(shared);
  const auto dir = shared / "gguf" / "quantized";
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".gguf") continue;
    auto model = read_model_tensors(entry.path());
    ASSERT_TRUE(model.ok()) << model.error().message;
    auto result = extract_recipe(*model);
    ASSERT_TRUE(result.ok()) << result.error().message;
    SCOPED_TRACE(entry.path().filename().string());
    expect_reproduces(result->recipe, *model);
    EXPECT_EQ(result->exact_name_rules, 0u);
    EXPECT_LE(result->recipe.rules.size(), 8u) << write_recipe(result->recipe);
    ++files;
  }
  EXPECT_GE(files, 7u);
}

// Every llama-quantize preset of every tiny model (type tables from ../shared/gguf/presets).
TEST(ExtractShared, EveryLlamaQuantizePresetRoundTrips) {
  QMIX_REQUIRE_SHARED(shared);
  size_t checked = 0, most_rules = 0;
  for (const std::string model_name : {"tiny-llama", "tiny-qwen3", "tiny-qwen35"}) {
    const auto path = shared / "gguf" / "presets" / ("presets-" + model_name + ".json");
    std::ifstream in(path);
    const auto presets = nlohmann::json::parse(in).at("presets");
    for (const auto& [preset, body] : presets.items()) {
      const ModelTensors model = test::preset_model(path, preset, model_name);
      SCOPED_TRACE(model.source);
      auto result = extract_recipe(model);
      ASSERT_TRUE(result.ok()) << result.error().message;
      expect_reproduces(result->recipe, model);
      EXPECT_EQ(result->exact_name_rules, 0u);
      EXPECT_LE(result->recipe.rules.size(), 8u) << write_recipe(result->recipe);
      most_rules = std::max(most_rules, result->recipe.rules.size());
      ++checked;
    }
  }
  EXPECT_EQ(checked, 3u * 33u);
  RecordProperty("most_rules", static_cast<int>(most_rules));
}

}  // namespace
}  // namespace qmix
