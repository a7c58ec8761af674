#include "recipe/recipe_plan.h"

#include <gtest/gtest.h>

#include <unordered_map>

#include "recipe/extract.h"
#include "recipe/presets.h"
#include "recipe/recipe_test_util.h"
#include "recipe/recipe_toml.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

using G = GgmlType;

PlanModel plan_model_of(const ModelTensors& m, GgmlType source_type) {
  PlanModel p;
  p.arch = m.architecture;
  p.n_layer = m.layers;
  p.n_head = 16;
  p.n_head_kv = 4;
  for (const TensorDesc& t : m.tensors)
    p.tensors.push_back({t.name, t.shape, t.shape.size() == 1 ? G::F32 : source_type});
  return p;
}

// The plan `qmix quantize --recipe` runs: the preset refined by the recipe's rules.
QuantPlan quantize_plan(const Recipe& recipe, const PlanModel& model, RecipePlan* out = nullptr) {
  PlanOptions options;
  auto preset = find_preset(recipe.base);
  EXPECT_TRUE(preset.ok()) << recipe.base;
  options.preset = *preset;
  auto rp = plan_recipe(recipe, model, options, LayerMapping::kExact, "r.toml");
  EXPECT_TRUE(rp.ok()) << rp.error().message;
  for (const TensorRule& r : rp->rules) options.rules.push_back(r);
  auto plan = compute_plan(model, options);
  EXPECT_TRUE(plan.ok()) << plan.error().message;
  if (out) *out = std::move(rp).value();
  return std::move(plan).value();
}

std::unordered_map<std::string, GgmlType> types_of(const QuantPlan& plan) {
  std::unordered_map<std::string, GgmlType> out;
  for (const TensorDecision& d : plan.tensors) out[d.name] = d.type;
  return out;
}

TEST(RecipePlan, FloorsAndDataRulesReachThePlan) {
  const ModelTensors m = test::model_of(test::ud_like_hybrid(8), "ud.gguf");
  const PlanModel model = plan_model_of(m, G::BF16);
  auto recipe = parse_recipe(R"(base = "Q4_K_M"
[[rule]]
role = "ssm_out"
min = "q8_0"
provenance = "architecture"
reason = "recurrent error compounds"
[[rule]]
role = ["ssm_out", "ffn_up"]
type = "q4_K"
provenance = "data"
reason = "budget"
[[rule]]
role = "attn_norm"
type = "q8_0"
provenance = "manual"
reason = "cannot happen: norms stay as they are"
)",
                             "r.toml");
  ASSERT_TRUE(recipe.ok()) << recipe.error().message;
  RecipePlan rp;
  const auto types = types_of(quantize_plan(*recipe, model, &rp));
  EXPECT_EQ(types.at("blk.0.ssm_out.weight"), G::Q8_0);
  EXPECT_EQ(types.at("blk.5.ffn_up.weight"), G::Q4_K);
  EXPECT_EQ(types.at("blk.0.attn_norm.weight"), G::F32);
  EXPECT_EQ(rp.report.resolution.conflicts.size(), 6u);  // ssm_out of the six linear blocks
  EXPECT_EQ(rp.ignored.size(), 8u);                      // attn_norm of every block
  // Tensors the recipe does not decide keep the preset's own choice.
  PlanOptions preset_only;
  preset_only.preset = *find_preset("Q4_K_M");
  auto base = compute_plan(model, preset_only);
  ASSERT_TRUE(base.ok());
  const auto base_types = types_of(*base);
  for (const char* name : {"token_embd.weight", "output.weight", "blk.3.attn_v.weight"})
    EXPECT_EQ(types.at(name), base_types.at(name)) << name;
  EXPECT_EQ(rp.rules.size(), 6u + 8u);
}

// A recipe extracted from any llama-quantize output, applied to the BF16 model it was made
// from by qmix's planner, gives every tensor the type llama-quantize gave it.
TEST(RecipePlanShared, ExtractedPresetsReproduceLlamaQuantize) {
  QMIX_REQUIRE_SHARED(shared);
  size_t checked = 0;
  for (const std::string name : {"tiny-llama", "tiny-qwen3", "tiny-qwen35"}) {
    auto source = GgufModel::open(shared / "gguf" / (name + ".bf16.gguf"));
    ASSERT_TRUE(source.ok()) << source.error().message;
    auto model = plan_model_from_gguf(*source);
    ASSERT_TRUE(model.ok());
    const auto path = shared / "gguf" / "presets" / ("presets-" + name + ".json");
    std::ifstream in(path);
    const auto presets = nlohmann::json::parse(in).at("presets");
    for (const auto& [preset, body] : presets.items()) {
      SCOPED_TRACE(name + " " + preset);
      ModelTensors table = test::preset_model(path, preset, name);
      table.file_type = body.at("file_type").get<int64_t>();
      auto extracted = extract_recipe(table);
      ASSERT_TRUE(extracted.ok()) << extracted.error().message;
      ASSERT_EQ(extracted->recipe.base, preset);
      const auto types = types_of(quantize_plan(extracted->recipe, *model));
      for (const TensorDesc& t : table.tensors)
        ASSERT_EQ(types.at(t.name), t.type) << t.name << "\n" << write_recipe(extracted->recipe);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 99u);
}

}  // namespace
}  // namespace qmix
