#include "recipe/derive.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

#include "recipe/type_ladder.h"

namespace qmix {

namespace {

// An anchored regex matching exactly this tensor name (written as a TOML literal string).
std::string exact_name_regex(std::string_view name) {
  std::string out = "^";
  for (const char ch : name) {
    if (std::string_view(".^$|()[]{}*+?\\").find(ch) != std::string_view::npos) out += '\\';
    out += ch;
  }
  out += '$';
  return out;
}

// What the derivation decided for one tensor before the architecture check.
struct Target {
  GgmlType type = GgmlType::F32;
  int level = 0;  // 0: unchanged
  int rank = 0;   // 1-based rank by ratio for levels 2 and 3
  bool balancing = false;
};

GgmlType higher(GgmlType a, GgmlType b) { return type_bits(b) > type_bits(a) ? b : a; }

// Level 1: one ladder step by verdict; uncertain verdicts are left alone.
Target level1_target(const TensorComparison& t, GgmlType base) {
  Target out{base, 0, 0};
  if (t.uncertain || t.verdict == Verdict::kKeep) return out;
  const int steps = t.verdict == Verdict::kPromote ? 1 : -1;
  if (const std::optional<GgmlType> stepped = ladder_step(base, steps)) out = {*stepped, 1, 0};
  return out;
}

// Indices of tensors with a finite ratio above 1, most domain-leaning first (ties: by name).
std::vector<size_t> ratio_ranking(const ImatrixComparison& c) {
  std::vector<size_t> order;
  for (size_t i = 0; i < c.tensors.size(); ++i)
    if (std::isfinite(c.tensors[i].ratio) && c.tensors[i].ratio > 1.0) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return c.tensors[a].ratio > c.tensors[b].ratio; });
  return order;
}

// Levels 2 and 3 raise the best-ranked tensors to at least Q8_0 / F16.
void apply_rank_levels(const ImatrixComparison& c, const DeriveOptions& o,
                       std::vector<Target>& targets) {
  const std::vector<size_t> order = ratio_ranking(c);
  for (size_t r = 0; r < order.size(); ++r) {
    Target& t = targets[order[r]];
    const int rank = static_cast<int>(r) + 1;
    if (o.level >= 3 && rank <= o.top_m && type_bits(GgmlType::F16) > type_bits(t.type)) {
      t = {GgmlType::F16, 3, rank};
    } else if (rank <= o.top_n && type_bits(GgmlType::Q8_0) > type_bits(t.type)) {
      t = {higher(t.type, GgmlType::Q8_0), 2, rank};
    }
  }
}

// True when an architecture floor or ceiling matching the tensor bounds it away from `type`.
// Architecture `type` rules stay in the recipe unchanged; the appended data rule refines the
// choice for one tensor, as a later rule does (docs/recipe.md), but never crosses a limit.
bool held_by_architecture(const Recipe& base, const TensorPick& pick, GgmlType type) {
  for (const int r : pick.matched) {
    const RecipeRule& rule = base.rules[static_cast<size_t>(r)];
    if (rule.provenance != Provenance::kArchitecture) continue;
    if (rule.min_type && type_bits(type) < type_bits(*rule.min_type)) return true;
    if (rule.max_type && type_bits(type) > type_bits(*rule.max_type)) return true;
  }
  return false;
}

// Level 1's byte balance on a sized model (DeriveBalance::kNeutral).
class LevelOneBalance {
 public:
  LevelOneBalance(const ImatrixComparison& c, const Recipe& base, const Resolution& res,
                  const ModelTensors& sizes)
      : c_(c), base_(base), res_(res) {
    for (const TensorDesc& t : sizes.tensors) by_name_.emplace(t.name, &t);
  }

  // Bytes `type` adds over the base's type (nullopt: shape unknown or the step not allowed).
  std::optional<int64_t> delta(size_t i, GgmlType type) const {
    const auto it = by_name_.find(c_.tensors[i].name);
    if (it == by_name_.end() || !res_.picks[i].type) return std::nullopt;
    if (held_by_architecture(base_, res_.picks[i], type)) return std::nullopt;
    const auto to = it->second->bytes_as(type);
    const auto from = it->second->bytes_as(*res_.picks[i].type);
    if (!to || !from) return std::nullopt;
    return static_cast<int64_t>(*to) - static_cast<int64_t>(*from);
  }

  int64_t net(const std::vector<Target>& targets) const {
    int64_t n = 0;
    for (size_t i = 0; i < targets.size(); ++i)
      if (targets[i].level == 1) n += delta(i, targets[i].type).value_or(0);
    return n;
  }

  void balance(std::vector<Target>& targets) const {
    int64_t n = net(targets);
    std::vector<size_t> order(targets.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return c_.tensors[a].ratio < c_.tensors[b].ratio; });
    // Promotions cost more than demotions save: demote the lowest ratios below 1 too …
    for (size_t k = 0; k < order.size() && n > 0; ++k) n += step(order[k], -1, n, targets);
    // … and if that is not enough, drop the weakest promotions.
    for (size_t k = 0; k < order.size() && n > 0; ++k) {
      Target& t = targets[order[k]];
      if (t.level != 1 || type_bits(t.type) <= type_bits(*res_.picks[order[k]].type)) continue;
      n -= delta(order[k], t.type).value_or(0);
      t = {*res_.picks[order[k]].type, 0, 0, false};
    }
    // Demotions saved more: promote the highest ratios above 1 while the total stays ≤ 0.
    for (size_t k = order.size(); k-- > 0 && n < 0;) n += step(order[k], +1, n, targets);
  }

 private:
  // One balancing step of an unchanged tensor on the right side of 1; its byte change, or 0.
  int64_t step(size_t i, int direction, int64_t n, std::vector<Target>& targets) const {
    const TensorComparison& t = c_.tensors[i];
    if (targets[i].level != 0 || t.uncertain || !std::isfinite(t.ratio) || !res_.picks[i].type)
      return 0;
    if (direction < 0 ? t.ratio >= 1.0 : t.ratio <= 1.0) return 0;
    const std::optional<GgmlType> to = ladder_step(*res_.picks[i].type, direction);
    if (!to) return 0;
    const std::optional<int64_t> d = delta(i, *to);
    if (!d || (direction < 0 ? *d >= 0 : *d <= 0 || n + *d > 0)) return 0;
    targets[i] = {*to, 1, 0, true};
    return *d;
  }

  const ImatrixComparison& c_;
  const Recipe& base_;
  const Resolution& res_;
  std::unordered_map<std::string_view, const TensorDesc*> by_name_;
};

std::string change_reason(const TensorComparison& t, const Target& target, GgmlType from) {
  if (target.balancing)
    return fmt::format(
        "importance on the domain corpus is {:.2f}x that on the generic corpus, {} the others: "
        "one step {} the base's {} keeps level 1 budget-neutral",
        t.ratio, t.ratio < 1 ? "lower than" : "higher than", t.ratio < 1 ? "below" : "above",
        type_name(from));
  if (target.level == 1)
    return fmt::format(
        "importance on the domain corpus is {:.2f}x that on the generic corpus: one step {} "
        "the base's {}",
        t.ratio, t.verdict == Verdict::kPromote ? "above" : "below", type_name(from));
  return fmt::format("rank {} by domain/generic importance ratio ({:.2f}): level {} gives {}",
                     target.rank, t.ratio, target.level, type_name(target.type));
}

RecipeRule change_rule(const TensorComparison& t, const Target& target, GgmlType from,
                       const DeriveOptions& o) {
  RecipeRule rule;
  rule.match = exact_name_regex(t.name);
  rule.type = target.type;
  rule.provenance = Provenance::kData;
  rule.reason = change_reason(t, target, from);
  // Keys in alphabetical order, as docs/recipe.md keeps evidence.
  if (target.balancing) rule.evidence.push_back({"balancing", true});
  rule.evidence.push_back({"base_type", std::string(type_name(from))});
  if (!o.domain_name.empty()) rule.evidence.push_back({"domain", o.domain_name});
  rule.evidence.push_back({"domain_mean", t.domain_mean});
  if (!o.generic_name.empty()) rule.evidence.push_back({"generic", o.generic_name});
  rule.evidence.push_back({"generic_mean", t.generic_mean});
  rule.evidence.push_back({"level", static_cast<int64_t>(target.level)});
  if (target.rank > 0) rule.evidence.push_back({"rank", static_cast<int64_t>(target.rank)});
  rule.evidence.push_back({"ratio", t.ratio});
  return rule;
}

Status check_options(const DeriveOptions& o) {
  if (o.level < 1 || o.level > 3)
    return make_error(ErrorCode::kInvalidArgument, "derive level must be 1, 2 or 3 (got {})",
                      o.level);
  if (o.top_n < 0 || o.top_m < 0)
    return make_error(ErrorCode::kInvalidArgument,
                      "derive --top-n and --top-m must not be negative (got {} and {})", o.top_n,
                      o.top_m);
  return ok_status();
}

}  // namespace

Expected<DeriveResult> derive_recipe(const Recipe& base, const ImatrixComparison& comparison,
                                     const DeriveOptions& options) {
  QMIX_TRY(check_options(options));
  QMIX_TRY_ASSIGN(const CompiledRecipe compiled, CompiledRecipe::compile(base));
  std::vector<TensorDesc> tensors;
  for (const TensorComparison& t : comparison.tensors) tensors.push_back({t.name, {}, {}});
  const Resolution res = resolve_recipe(compiled, tensors);

  DeriveResult out;
  std::vector<Target> targets(tensors.size());
  out.level1_bytes = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!res.picks[i].type) continue;
    targets[i] = level1_target(comparison.tensors[i], *res.picks[i].type);
  }
  std::optional<LevelOneBalance> balance;
  if (options.sizes != nullptr) balance.emplace(comparison, base, res, *options.sizes);
  if (balance && options.balance == DeriveBalance::kNeutral) balance->balance(targets);
  const int64_t level1_bytes = balance ? balance->net(targets) : 0;
  if (options.level >= 2) apply_rank_levels(comparison, options, targets);

  out.recipe = base;
  out.recipe.name =
      fmt::format("{}-derived-l{}", base.name.empty() ? "recipe" : base.name, options.level);
  out.recipe.description =
      fmt::format("{} with level-{} data rules from domain {} vs generic {} (qmix recipe derive)",
                  base.name.empty() ? "base recipe" : base.name, options.level, options.domain_name,
                  options.generic_name);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorComparison& t = comparison.tensors[i];
    if (!res.picks[i].type) {
      out.uncovered.push_back(t.name);
      continue;
    }
    const GgmlType from = *res.picks[i].type;
    if (targets[i].level == 0 || targets[i].type == from) continue;
    if (held_by_architecture(base, res.picks[i], targets[i].type)) {
      out.held_by_architecture.push_back(t.name);
      continue;
    }
    out.recipe.rules.push_back(change_rule(t, targets[i], from, options));
    out.changes.push_back({t.name, from, targets[i].type, targets[i].level, targets[i].balancing});
  }
  out.level1_bytes = level1_bytes;
  QMIX_TRY(validate_recipe(out.recipe));
  return out;
}

Expected<std::vector<TensorDesc>> resolved_table(const Recipe& recipe, const ModelTensors& model) {
  QMIX_TRY_ASSIGN(const CompiledRecipe compiled, CompiledRecipe::compile(recipe));
  const Resolution res = resolve_recipe(compiled, model.tensors);
  std::vector<TensorDesc> table = model.tensors;
  for (size_t i = 0; i < table.size(); ++i)
    if (res.picks[i].type) table[i].type = *res.picks[i].type;
  return table;
}

TableSize table_size(const std::vector<TensorDesc>& table) {
  return diff_type_tables(table, table).size_a;
}

}  // namespace qmix
