// Moving a recipe to another model (a fine-tune, a sibling size): layer ranges are either
// required to fit as they are or scaled to the new block count; the architecture is compared;
// the recipe is then resolved against the target to list what does not fit.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "recipe/recipe_apply.h"

namespace qmix {

enum class LayerMapping {
  kExact,  // a recipe with layer ranges made for N blocks only applies to N blocks
  kScale,  // ranges are mapped proportionally (LayerSet::scaled) onto the target's blocks
};

struct TransferReport {
  Recipe recipe;  // adapted to the target (layers scaled, `layers` set to the target's)
  std::optional<std::string> architecture_mismatch;  // "recipe for qwen3, model is llama"
  bool layers_scaled = false;
  Resolution resolution;  // of the adapted recipe against the target
};

// Errors only when the recipe cannot be applied at all (layer count differs under kExact).
// `base` is what the base preset chooses for each target tensor (may be empty).
Expected<TransferReport> transfer_recipe(const Recipe& recipe, const ModelTensors& target,
                                         LayerMapping mapping,
                                         std::span<const std::optional<GgmlType>> base = {});

// The report as text: one line per problem ("uncovered: …", "unused: …", "conflict: …"), then
// a summary line. Empty problems → just the summary.
std::string format_transfer(const TransferReport& report, const ModelTensors& target);

// True when applying is clean: same architecture, every tensor covered, every rule used, no
// shape problem and no conflict.
bool transfer_is_clean(const TransferReport& report);

}  // namespace qmix
