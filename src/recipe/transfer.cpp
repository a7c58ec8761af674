#include "recipe/transfer.h"

namespace qmix {

Expected<TransferReport> transfer_recipe(const Recipe& recipe, const ModelTensors& target,
                                         LayerMapping mapping,
                                         std::span<const std::optional<GgmlType>> base) {
  TransferReport report;
  report.recipe = recipe;
  if (!recipe.architecture.empty() && !target.architecture.empty() &&
      recipe.architecture != target.architecture)
    report.architecture_mismatch =
        fmt::format("recipe '{}' is for {}, {} is {}", recipe.name, recipe.architecture,
                    target.source, target.architecture);
  const bool differs = recipe.layers > 0 && target.layers > 0 && recipe.layers != target.layers;
  if (differs && recipe.uses_layer_ranges()) {
    if (mapping == LayerMapping::kExact)
      return make_error(ErrorCode::kInvalidArgument,
                        "recipe '{}' has layer ranges for {} blocks but {} has {}; pass "
                        "--scale-layers to map the ranges proportionally",
                        recipe.name, recipe.layers, target.source, target.layers);
    for (RecipeRule& r : report.recipe.rules)
      if (r.layers) r.layers = r.layers->scaled(recipe.layers, target.layers);
    report.layers_scaled = true;
    report.recipe.description += fmt::format("{}layer ranges scaled from {} to {} blocks for {}",
                                             report.recipe.description.empty() ? "" : "; ",
                                             recipe.layers, target.layers, target.source);
  }
  if (target.layers > 0) report.recipe.layers = target.layers;
  if (!target.architecture.empty()) report.recipe.architecture = target.architecture;
  QMIX_TRY_ASSIGN(const CompiledRecipe compiled, CompiledRecipe::compile(report.recipe));
  report.resolution = resolve_recipe(compiled, target.tensors, base);
  return report;
}

std::string format_transfer(const TransferReport& report, const ModelTensors& target) {
  const Recipe& recipe = report.recipe;
  const Resolution& res = report.resolution;
  std::string out;
  if (report.architecture_mismatch) out += "architecture: " + *report.architecture_mismatch + "\n";
  if (report.layers_scaled)
    out += fmt::format("layers: ranges scaled to {} blocks\n", recipe.layers);
  for (size_t r : res.unused_rules)
    out += fmt::format("unused: {} matches no tensor\n", rule_label(recipe, r));
  for (size_t t : res.uncovered)
    out += "uncovered: " + target.tensors[t].name + " (no rule gives it a type)\n";
  for (size_t t : res.incompatible)
    out += fmt::format("shape: {} has rows of {}, not a multiple of {}'s block of {}\n",
                       target.tensors[t].name, target.tensors[t].shape[0],
                       type_name(*res.picks[t].type), quant_type(*res.picks[t].type).block_size);
  for (const RuleConflict& c : res.conflicts)
    out += fmt::format("conflict: {}\n", describe_conflict(recipe, target.tensors, c));
  const size_t decided = target.tensors.size() - res.uncovered.size();
  out += fmt::format(
      "{}: {} of {} tensors decided, {} rules unused, {} shape problems, {} conflicts\n",
      target.source, decided, target.tensors.size(), res.unused_rules.size(),
      res.incompatible.size(), res.conflicts.size());
  return out;
}

bool transfer_is_clean(const TransferReport& report) {
  const Resolution& res = report.resolution;
  return !report.architecture_mismatch && res.unused_rules.empty() && res.uncovered.empty() &&
         res.incompatible.empty() && res.conflicts.empty();
}

}  // namespace qmix
