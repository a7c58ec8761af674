// Internals shared by planner.cpp (measuring and solving) and planner_recipe.cpp (writing and
// checking the recipe). Not a public interface.
#pragma once

#include <optional>
#include <vector>

#include "core/error.h"
#include "recipe/planner.h"
#include "recipe/presets.h"
#include "recipe/recipe_plan.h"
#include "recipe/tensor_plan.h"

namespace qmix::plan_detail {

enum class ImatrixUse { kWith, kWithout };

// The type `qmix quantize --recipe` gives each tensor of the model (model order), with or
// without an imatrix (a few preset choices depend on it). `keep` receives the resolution.
Expected<std::vector<GgmlType>> recipe_types(const Recipe& recipe, const PlanModel& model,
                                             const Preset& preset, ImatrixUse use,
                                             RecipePlan* keep = nullptr);

// What the recipe would give without the planner's rules, both ways.
struct BaseTypes {
  std::vector<GgmlType> with_imatrix, without_imatrix;
};

// Appends one data rule per planned tensor whose type differs from the base's, sets the name
// and description, then checks that quantize resolves the recipe to exactly the planned types.
Status write_plan_rules(PlanResult& result, const PlanModel& model, const Preset& preset,
                        const BaseTypes& base, const PlanRequest& request);

}  // namespace qmix::plan_detail
