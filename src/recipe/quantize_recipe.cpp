#include "recipe/quantize_recipe.h"

#include <filesystem>

#include "recipe/presets.h"
#include "recipe/recipe_plan.h"
#include "recipe/recipe_toml.h"

namespace qmix {

Expected<std::optional<QuantizeRecipe>> load_quantize_recipe(const std::string& path) {
  if (path.empty()) return std::optional<QuantizeRecipe>{};
  QMIX_TRY_ASSIGN(Recipe recipe, load_recipe(path));
  return std::optional<QuantizeRecipe>{
      QuantizeRecipe{std::move(recipe), std::filesystem::path(path).filename().string()}};
}

std::vector<std::string> with_recipe_base(std::vector<std::string> positional,
                                          const std::optional<QuantizeRecipe>& recipe) {
  if (!recipe || recipe->recipe.base.empty()) return positional;
  const bool type_missing =
      positional.size() == 1 || (positional.size() == 2 && !find_preset(positional[1]).ok());
  if (type_missing) positional.push_back(recipe->recipe.base);
  return positional;
}

Expected<GgufKv> add_recipe_rules(const QuantizeRecipe& q, const PlanModel& model,
                                  LayerMapping mapping, PlanOptions& options,
                                  WarningSink& warnings) {
  QMIX_TRY_ASSIGN(RecipePlan plan, plan_recipe(q.recipe, model, options, mapping, q.source));
  const TransferReport& report = plan.report;
  if (report.architecture_mismatch) warnings.warn(*report.architecture_mismatch);
  for (const RuleConflict& c : report.resolution.conflicts)
    warnings.warn(
        fmt::format("recipe conflict: {}", describe_conflict(report.recipe, plan.tensors, c)));
  for (size_t r : report.resolution.unused_rules)
    warnings.warn(fmt::format("{}: {} matches no tensor", q.source, rule_label(report.recipe, r)));
  for (const std::string& message : plan.ignored) warnings.warn(message);
  for (TensorRule& rule : plan.rules) options.rules.push_back(std::move(rule));
  return GgufKv{std::string(kRecipeMetadataKey), GgufValue::string(write_recipe(report.recipe))};
}

}  // namespace qmix
