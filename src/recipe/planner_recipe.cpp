// The planned recipe: the base's rules and the floors, then one `data` rule per tensor whose
// planned type differs from the base's, with the evidence the solver decided on.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/byte_size.h"
#include "recipe/name_regex.h"
#include "recipe/planner_detail.h"

namespace qmix::plan_detail {
namespace {

std::string rule_reason(const PlanEntry& p, double lambda) {
  const double up = type_bits(p.type) - type_bits(p.base_type);
  if (up > 0 && std::isfinite(p.gain_per_byte))
    return fmt::format(
        "plan: promoted from the base's {} to {}: the step onto {} saves {:.3g} loss per byte, "
        "at least the price of a byte under this budget (lambda {:.3g})",
        type_name(p.base_type), type_name(p.type), type_name(p.type), p.gain_per_byte, lambda);
  if (up < 0 && std::isfinite(p.next_gain_per_byte))
    return fmt::format(
        "plan: demoted from the base's {} to {}: the next step up would save only {:.3g} loss "
        "per byte, at most the price of a byte under this budget (lambda {:.3g})",
        type_name(p.base_type), type_name(p.type), p.next_gain_per_byte, lambda);
  if (p.type == p.base_type)
    return fmt::format(
        "plan: keeps the base's {} (pinned: the other rules move the preset's layer-position "
        "choices)",
        type_name(p.type));
  return fmt::format("plan: {} instead of the base's {}: lower predicted loss for the bytes",
                     type_name(p.type), type_name(p.base_type));
}

RecipeRule plan_rule(const PlanEntry& p, double lambda) {
  RecipeRule rule;
  rule.match = fmt::format("^{}$", escape_regex(p.name));
  rule.type = p.type;
  rule.provenance = Provenance::kData;
  rule.reason = rule_reason(p, lambda);
  double error = NAN;
  for (const PlanOption& o : p.options)
    if (o.type == p.type) error = o.error;
  // Keys in alphabetical order, as docs/recipe.md keeps evidence; NaN has no TOML form here.
  const auto add = [&](const char* key, double v) {
    if (std::isfinite(v)) rule.evidence.push_back({key, v});
  };
  rule.evidence.push_back({"base_type", std::string(type_name(p.base_type))});
  add("base_loss", p.base_loss);
  add("gain_per_byte", p.gain_per_byte);
  add("lambda", lambda);
  add("loss", p.loss);
  add("next_gain_per_byte", p.next_gain_per_byte);
  add("relative_error", p.energy > 0 ? error / p.energy : NAN);
  add("sensitivity", error);
  return rule;
}

std::string description(const PlanResult& r, const PlanRequest& req) {
  std::string imatrices;
  for (const PlanImatrixInput& im : req.imatrices)
    imatrices += fmt::format("{}{} ({:g})", imatrices.empty() ? "" : ", ",
                             im.path.filename().string(), im.weight);
  return fmt::format(
      "qmix plan: {:.4f} bpw ({}) for a budget of {} ({:.4f} bpw); predicted loss {:.6g} "
      "(base {} with the floors: {:.6g} at {:.4f} bpw); loss model {}; imatrix mix {}; "
      "quantize with --imatrix {}; {}",
      r.bpw, format_bytes(r.bytes), format_bytes(r.budget_bytes),
      8.0 * static_cast<double>(r.budget_bytes) / static_cast<double>(r.n_elements),
      r.predicted_loss, r.base_preset, r.base_predicted_loss, r.base_bpw, loss_model_name(req.loss),
      imatrices, std::filesystem::path(r.quantize_imatrix).filename().string(),
      req.probe ? fmt::format("sensitivities calibrated by measured KLD ({} role and zone groups)",
                              r.scales.size())
                : std::string("sensitivities not calibrated (no --measure)"));
}

// The tensors quantize would give another type than planned, with or without an imatrix.
Expected<std::vector<size_t>> mismatches(const PlanResult& r, const PlanModel& model,
                                         const Preset& preset) {
  std::vector<size_t> out;
  for (const ImatrixUse use : {ImatrixUse::kWith, ImatrixUse::kWithout}) {
    QMIX_TRY_ASSIGN(const std::vector<GgmlType> types, recipe_types(r.recipe, model, preset, use));
    for (size_t i = 0; i < r.tensors.size(); ++i)
      if (r.tensors[i].status != PlanStatus::kNotQuantized && types[i] != r.tensors[i].type &&
          std::ranges::find(out, i) == out.end())
        out.push_back(i);
  }
  return out;
}

}  // namespace

Status write_plan_rules(PlanResult& result, const PlanModel& model, const Preset& preset,
                        const BaseTypes& base, const PlanRequest& request) {
  std::vector<bool> ruled(result.tensors.size(), false);
  for (size_t i = 0; i < result.tensors.size(); ++i) {
    const PlanEntry& p = result.tensors[i];
    if (p.status != PlanStatus::kPlanned) continue;
    if (p.type == base.with_imatrix[i] && p.type == base.without_imatrix[i]) continue;
    result.recipe.rules.push_back(plan_rule(p, result.lambda));
    ruled[i] = true;
  }
  // llama.cpp's layer-position rules count the tensors no rule decides, so the new rules can
  // move the preset's choice for others: pin those too, until quantize resolves every tensor
  // to its planned type (each round adds rules, so this ends).
  for (;;) {
    QMIX_TRY_ASSIGN(const std::vector<size_t> wrong, mismatches(result, model, preset));
    if (wrong.empty()) break;
    for (const size_t i : wrong) {
      if (ruled[i] || result.tensors[i].status != PlanStatus::kPlanned)
        return make_error(ErrorCode::kInternal, "plan: the recipe does not resolve {} to {}",
                          result.tensors[i].name, type_name(result.tensors[i].type));
      result.recipe.rules.push_back(plan_rule(result.tensors[i], result.lambda));
      ruled[i] = true;
    }
  }
  result.recipe.name = fmt::format("{}-plan-{:.2f}bpw", model.arch, result.bpw);
  result.recipe.description = description(result, request);
  return validate_recipe(result.recipe);
}

}  // namespace qmix::plan_detail
