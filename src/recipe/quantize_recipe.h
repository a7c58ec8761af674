// `qmix quantize --recipe FILE`: the recipe's rules refine the preset (docs/recipe.md). The
// recipe is resolved on the preset's own choices and handed to the plan as exact-name rules
// after any --tensor-type rules (which therefore win); the output records the recipe under
// qmix.recipe, so `qmix recipe extract` gives it back.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/progress.h"
#include "gguf/gguf_value.h"
#include "recipe/recipe.h"
#include "recipe/tensor_plan.h"
#include "recipe/transfer.h"

namespace qmix {

struct QuantizeRecipe {
  Recipe recipe;
  std::string source;  // the file name, for rule sources in the plan
};

// Loads the recipe of --recipe (nullopt when the flag is absent).
Expected<std::optional<QuantizeRecipe>> load_quantize_recipe(const std::string& path);

// llama-quantize's positional arguments with the recipe's base preset as TYPE when it was left
// out ("INPUT" or "INPUT OUTPUT").
std::vector<std::string> with_recipe_base(std::vector<std::string> positional,
                                          const std::optional<QuantizeRecipe>& recipe);

// Appends the recipe's rules to `options.rules` (resolved on the plan `options` gives without
// them) and warns about conflicts, unused rules and types the plan cannot honour. Returns the
// metadata entry that records the recipe (adapted to the model) in the output.
Expected<GgufKv> add_recipe_rules(const QuantizeRecipe& recipe, const PlanModel& model,
                                  LayerMapping mapping, PlanOptions& options,
                                  WarningSink& warnings);

}  // namespace qmix
