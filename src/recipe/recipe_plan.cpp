#include "recipe/recipe_plan.h"

#include <unordered_map>

#include "recipe/name_regex.h"
#include "recipe/presets.h"

namespace qmix {
namespace {

using DecisionIndex = std::unordered_map<std::string_view, const TensorDecision*>;

DecisionIndex index_decisions(const QuantPlan& plan) {
  DecisionIndex index;
  for (const TensorDecision& d : plan.tensors) index.emplace(d.name, &d);
  return index;
}

ModelTensors target_of(const PlanModel& model) {
  ModelTensors m;
  m.source = "the model";
  m.architecture = model.arch;
  m.layers = static_cast<int>(model.n_layer);
  for (const PlanTensor& t : model.tensors) m.tensors.push_back({t.name, t.type, t.shape});
  return m;
}

std::vector<std::optional<GgmlType>> types_in_model_order(const PlanModel& model,
                                                          const QuantPlan& plan) {
  const DecisionIndex index = index_decisions(plan);
  std::vector<std::optional<GgmlType>> out;
  out.reserve(model.tensors.size());
  for (const PlanTensor& t : model.tensors) out.push_back(index.at(t.name)->type);
  return out;
}

// The rule whose effect the tensor shows: the limit that moved it, else the chooser.
int deciding_rule(const TensorPick& pick) {
  if (pick.floor_by >= 0) return pick.floor_by;
  if (pick.ceiling_by >= 0) return pick.ceiling_by;
  return pick.chosen_by;
}

// Whether the plan applies rules to this tensor at all (flags and float presets come first).
bool takes_rules(const TensorDecision& d) {
  return d.quantizable && (d.step == DecisionStep::kRule || d.step == DecisionStep::kPreset ||
                           d.step == DecisionStep::kPure);
}

}  // namespace

Expected<RecipePlan> plan_recipe(const Recipe& recipe, const PlanModel& model,
                                 const PlanOptions& base, LayerMapping mapping,
                                 std::string_view source) {
  QMIX_TRY_ASSIGN(const QuantPlan base_plan, compute_plan(model, base));
  const std::vector<std::optional<GgmlType>> base_types = types_in_model_order(model, base_plan);
  RecipePlan out;
  const ModelTensors target = target_of(model);
  QMIX_TRY_ASSIGN(out.report, transfer_recipe(recipe, target, mapping, base_types));
  out.tensors = target.tensors;
  const Recipe& adapted = out.report.recipe;
  const DecisionIndex decisions = index_decisions(base_plan);
  for (size_t i = 0; i < out.tensors.size(); ++i) {
    const TensorPick& pick = out.report.resolution.picks[i];
    const int rule = deciding_rule(pick);
    if (rule < 0 || !pick.type) continue;  // the base decides
    const TensorDecision& d = *decisions.at(out.tensors[i].name);
    const std::string label = rule_label(adapted, static_cast<size_t>(rule));
    if (!takes_rules(d)) {
      if (*pick.type != d.type)
        out.ignored.push_back(fmt::format("{}: {} says {}, but quantize gives it {} ({})", d.name,
                                          label, type_name(*pick.type), type_name(d.type),
                                          d.reason));
      continue;
    }
    out.rules.push_back(
        {fmt::format("^{}$", escape_regex(d.name)), *pick.type,
         std::string(provenance_name(adapted.rules[static_cast<size_t>(rule)].provenance)),
         fmt::format("{}: {}", source, label)});
  }
  return out;
}

Expected<PresetChoices> preset_choices(const Recipe& recipe, const PlanModel& model) {
  PresetChoices out;
  if (recipe.base.empty()) return out;
  PlanOptions options;
  QMIX_TRY_ASSIGN(options.preset, find_preset(recipe.base));
  QMIX_TRY_ASSIGN(const QuantPlan plan, compute_plan(model, options));
  out.types = types_in_model_order(model, plan);
  const DecisionIndex index = index_decisions(plan);
  for (const PlanTensor& t : model.tensors) out.reasons.push_back(index.at(t.name)->reason);
  return out;
}

std::string preset_name_for_file_type(int64_t file_type) {
  for (const Preset& p : all_presets())
    if (static_cast<int64_t>(p.ftype) == file_type) return std::string(p.name);
  return "";
}

}  // namespace qmix
