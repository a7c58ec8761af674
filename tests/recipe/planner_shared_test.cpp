// plan_recipe() on tiny-qwen3 (../shared) at the bits per weight of llama.cpp's Q4_K_M of the
// same model (presets-tiny-qwen3.json: 5.355): the planned size stays within the budget and
// within 1 % of it, the recipe survives a TOML round trip, and `quantize --recipe`'s planner
// resolves it to exactly the planned types and size. Also the hybrid's floor and errors.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "gguf/gguf_model.h"
#include "recipe/planner.h"
#include "recipe/presets.h"
#include "recipe/recipe_plan.h"
#include "recipe/recipe_toml.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

double preset_bpw(const std::filesystem::path& shared, const std::string& model,
                  const std::string& preset) {
  std::ifstream in(shared / "gguf" / "presets" / ("presets-" + model + ".json"));
  return nlohmann::json::parse(in).at("presets").at(preset).at("bpw").get<double>();
}

PlanRequest request(const std::filesystem::path& shared, const std::string& model) {
  PlanRequest r;
  r.model = shared / "gguf" / (model + ".bf16.gguf");
  r.imatrices = {{shared / "gguf" / "imatrix" / (model + ".wiki.imatrix.gguf"), 1.0},
                 {shared / "gguf" / "imatrix" / (model + ".reasoning.imatrix.gguf"), 1.0}};
  r.sample_rows = 64;  // keeps the test fast; the sampling is tested on its own
  return r;
}

// The types `qmix quantize --recipe R --imatrix …` gives, and their total bytes.
QuantPlan quantize_plan(const Recipe& recipe, const std::filesystem::path& model_path) {
  auto file = GgufModel::open(model_path);
  EXPECT_TRUE(file.ok());
  auto model = plan_model_from_gguf(*file);
  EXPECT_TRUE(model.ok());
  PlanOptions options;
  options.preset = *find_preset(recipe.base);
  options.has_imatrix = true;
  auto rp = plan_recipe(recipe, *model, options, LayerMapping::kExact, "plan.toml");
  EXPECT_TRUE(rp.ok());
  options.rules = rp->rules;
  auto plan = compute_plan(*model, options);
  EXPECT_TRUE(plan.ok());
  return *plan;
}

TEST(PlannerShared, PlansTinyQwen3AtQ4KMBitsPerWeightAndTheRecipeApplies) {
  QMIX_REQUIRE_SHARED(shared);
  const double target = preset_bpw(shared, "tiny-qwen3", "Q4_K_M");
  PlanRequest req = request(shared, "tiny-qwen3");
  req.budget.bpw = target;
  const auto r = plan_recipe(req);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_LE(r->bytes, r->budget_bytes);
  EXPECT_NEAR(r->bpw, target, 0.01 * target);
  EXPECT_LT(r->predicted_loss, r->base_predicted_loss);
  EXPECT_GT(r->lambda, 0.0);

  auto reread = parse_recipe(write_recipe(r->recipe), "plan.toml");
  ASSERT_TRUE(reread.ok()) << reread.error().message;
  EXPECT_EQ(write_recipe(*reread), write_recipe(r->recipe));
  const QuantPlan plan = quantize_plan(*reread, req.model);
  EXPECT_EQ(plan.bytes(), r->bytes);
  for (const TensorDecision& d : plan.tensors)
    for (const PlanEntry& p : r->tensors)
      if (p.name == d.name) {
        EXPECT_EQ(d.type, p.type) << d.name;
      }
  size_t data_rules = 0;
  for (const RecipeRule& rule : r->recipe.rules) data_rules += rule.provenance == Provenance::kData;
  EXPECT_GT(data_rules, 0u);
}

TEST(PlannerShared, HybridKeepsTheSsmOutFloorAndInfeasibleBudgetsSayTheMinimum) {
  QMIX_REQUIRE_SHARED(shared);
  PlanRequest req = request(shared, "tiny-qwen35");
  req.budget.bpw = preset_bpw(shared, "tiny-qwen35", "Q3_K_M");
  const auto r = plan_recipe(req);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_LE(r->bytes, r->budget_bytes);
  size_t ssm_out = 0;
  for (const PlanEntry& p : r->tensors)
    if (p.role == "ssm_out") {
      ++ssm_out;
      EXPECT_GE(type_bits(p.type), type_bits(GgmlType::Q8_0)) << p.name;
    }
  EXPECT_GT(ssm_out, 0u);

  req.budget.bpw = 1.0;
  const auto low = plan_recipe(req);
  ASSERT_FALSE(low.ok());
  EXPECT_NE(low.error().message.find("budget infeasible"), std::string::npos);
  EXPECT_NE(low.error().message.find("smallest size"), std::string::npos) << low.error().message;
}

}  // namespace
}  // namespace qmix
