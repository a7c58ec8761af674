#include "recipe/explain.h"

#include <algorithm>

namespace qmix {
namespace {

std::string adjustment_of(const Recipe& recipe, const TensorPick& pick) {
  if (pick.floor_by >= 0)
    return fmt::format("raised from {} by {}", type_name(*pick.chosen),
                       rule_label(recipe, static_cast<size_t>(pick.floor_by)));
  if (pick.ceiling_by >= 0)
    return fmt::format("lowered from {} by {}", type_name(*pick.chosen),
                       rule_label(recipe, static_cast<size_t>(pick.ceiling_by)));
  return "";
}

std::string pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

}  // namespace

std::vector<ExplainRow> explain_resolution(const Recipe& recipe,
                                           std::span<const TensorDesc> tensors,
                                           const Resolution& res,
                                           std::span<const std::string> base_reasons) {
  std::vector<ExplainRow> rows;
  rows.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorPick& pick = res.picks[i];
    ExplainRow row{tensors[i].name, pick.type, pick.chosen_by, "nothing", "", "", false};
    if (pick.chosen_by >= 0) {
      row.decided_by = rule_label(recipe, static_cast<size_t>(pick.chosen_by));
      row.reason = recipe.rules[static_cast<size_t>(pick.chosen_by)].reason;
    } else if (pick.chosen) {
      row.decided_by = recipe.base.empty() ? "base" : "base preset " + recipe.base;
      if (i < base_reasons.size()) row.reason = base_reasons[i];
    }
    row.adjustment = adjustment_of(recipe, pick);
    row.conflict = std::any_of(res.conflicts.begin(), res.conflicts.end(),
                               [&](const RuleConflict& c) { return c.tensor == i; });
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string format_explain(const Recipe& recipe, std::span<const TensorDesc> tensors,
                           const Resolution& res, std::span<const std::string> base_reasons) {
  const std::vector<ExplainRow> rows = explain_resolution(recipe, tensors, res, base_reasons);
  size_t w_name = 6, w_rule = 10;
  for (const ExplainRow& r : rows) {
    w_name = std::max(w_name, r.tensor.size());
    w_rule = std::max(w_rule, r.decided_by.size());
  }
  std::string out =
      pad("tensor", w_name) + "  " + pad("type", 8) + "  " + pad("decided by", w_rule) + "  why\n";
  for (const ExplainRow& r : rows) {
    std::string why = r.reason;
    if (!r.adjustment.empty())
      why += fmt::format("{}{}{}", why.empty() ? "" : "; ", r.adjustment,
                         r.conflict ? " (CONFLICT)" : "");
    const std::string type = r.type ? std::string(type_name(*r.type)) : "-";
    out += pad(r.tensor, w_name) + "  " + pad(type, 8) + "  " + pad(r.decided_by, w_rule) + "  " +
           why + "\n";
  }
  for (const RuleConflict& c : res.conflicts)
    out += fmt::format("conflict: {}\n", describe_conflict(recipe, tensors, c));
  for (size_t r : res.unused_rules)
    out += fmt::format("unused: {} matches no tensor\n", rule_label(recipe, r));
  for (size_t t : res.uncovered)
    out += "uncovered: " + tensors[t].name + " (no rule gives it a type)\n";
  for (size_t t : res.incompatible)
    out += fmt::format("incompatible: {} has rows of {}, not a multiple of {}'s block of {}\n",
                       tensors[t].name, tensors[t].shape[0], type_name(*res.picks[t].type),
                       quant_type(*res.picks[t].type).block_size);
  return out;
}

}  // namespace qmix
