// A recipe in the terms of the quantization plan (tensor_plan.h): the base preset's choices
// are the types the recipe's rules refine (docs/recipe.md, "Precedence"), and the result is one
// exact-name TensorRule per tensor the recipe decides, so `qmix quantize --recipe` and
// `qmix recipe apply/explain` resolve a recipe the same way.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "recipe/recipe_apply.h"
#include "recipe/tensor_plan.h"
#include "recipe/transfer.h"

namespace qmix {

struct RecipePlan {
  std::vector<TensorRule> rules;    // exact names, for PlanOptions::rules
  TransferReport report;            // the recipe adapted to the model, resolved on the base
  std::vector<TensorDesc> tensors;  // the model's tensors, as the resolution indexes them
  // Tensors the recipe gives a type that the plan cannot (quantize keeps 1-D, norm and other
  // special tensors as they are, and float presets quantize nothing): "name: rule … says q8_0,
  // quantize keeps f32".
  std::vector<std::string> ignored;
};

// `base` holds the preset and flags the recipe refines (its rules, e.g. --tensor-type, stay in
// front of the recipe's and so win). `source` names the recipe in rule sources ("r.toml").
Expected<RecipePlan> plan_recipe(const Recipe& recipe, const PlanModel& model,
                                 const PlanOptions& base, LayerMapping mapping,
                                 std::string_view source);

// What the recipe's base preset chooses for each tensor of the model (model order) and why
// ("Q4_K_M: …"); empty when the recipe names no base. Not-quantized tensors keep their type.
struct PresetChoices {
  std::vector<std::optional<GgmlType>> types;
  std::vector<std::string> reasons;
};
Expected<PresetChoices> preset_choices(const Recipe& recipe, const PlanModel& model);

// The preset whose file type a GGUF records in general.file_type ("" if none matches).
std::string preset_name_for_file_type(int64_t file_type);

}  // namespace qmix
