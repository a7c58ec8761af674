#include "recipe/recipe_apply.h"

#include <algorithm>

#include "gguf/gguf_model.h"

namespace qmix {

uint64_t TensorDesc::n_elements() const {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return shape.empty() ? 0 : n;
}

std::optional<uint64_t> TensorDesc::bytes_as(GgmlType t) const {
  if (shape.empty()) return std::nullopt;
  const auto row = quant_type(t).row_bytes(shape[0]);
  if (!row) return std::nullopt;
  return *row * (n_elements() / static_cast<uint64_t>(shape[0] == 0 ? 1 : shape[0]));
}

Expected<ModelTensors> read_model_tensors(const std::filesystem::path& path) {
  QMIX_TRY_ASSIGN(GgufModel model, GgufModel::open(path));
  const GgufFile& meta = model.metadata();
  ModelTensors out;
  out.path = path;
  out.source = path.filename().string();
  out.architecture = meta.get_string_or("general.architecture", "");
  QMIX_TRY_ASSIGN(out.file_type, meta.get_int_or("general.file_type", -1));
  if (const GgufValue* v = meta.find(kRecipeMetadataKey)) {
    if (const std::string* s = v->as_string()) out.embedded_recipe = *s;
  }
  int highest_block = -1;
  out.tensors.reserve(model.tensors().size());
  for (const GgufTensorRef& ref : model.tensors()) {
    out.tensors.push_back({ref.info->name, ref.info->type, ref.info->shape});
    highest_block = std::max(highest_block, parse_tensor_name(ref.info->name).block);
  }
  out.layers = highest_block + 1;
  if (!out.architecture.empty()) {
    QMIX_TRY_ASSIGN(const int64_t blocks,
                    meta.get_int_or(out.architecture + ".block_count", out.layers));
    out.layers = static_cast<int>(std::max<int64_t>(blocks, out.layers));
  }
  return out;
}

Expected<CompiledRecipe> CompiledRecipe::compile(Recipe recipe) {
  QMIX_TRY(validate_recipe(recipe));
  CompiledRecipe out;
  for (const RecipeRule& r : recipe.rules) {
    if (r.match.empty()) {
      out.regex_.emplace_back();
    } else {
      QMIX_TRY_ASSIGN(NameRegex regex, NameRegex::compile(r.match));
      out.regex_.emplace_back(std::move(regex));
    }
  }
  out.recipe_ = std::move(recipe);
  return out;
}

bool CompiledRecipe::matches(size_t rule, std::string_view name, const TensorName& parsed) const {
  const RecipeRule& r = recipe_.rules[rule];
  if (r.layers && (parsed.block < 0 || !r.layers->contains(parsed.block))) return false;
  if (!r.roles.empty() && std::none_of(r.roles.begin(), r.roles.end(),
                                       [&](const RoleSelector& s) { return s.matches(parsed); }))
    return false;
  if (regex_[rule] && !regex_[rule]->search(name)) return false;
  return true;
}

namespace {

// The tightest floor and ceiling among the matched rules (ties: the later rule).
struct Limits {
  int floor = -1;
  int ceiling = -1;
};

Limits find_limits(const Recipe& recipe, const std::vector<int>& matched) {
  Limits l;
  for (int i : matched) {
    const RecipeRule& r = recipe.rules[static_cast<size_t>(i)];
    if (r.min_type &&
        (l.floor < 0 || type_bits(*r.min_type) >= type_bits(*recipe.rules[l.floor].min_type)))
      l.floor = i;
    if (r.max_type &&
        (l.ceiling < 0 || type_bits(*r.max_type) <= type_bits(*recipe.rules[l.ceiling].max_type)))
      l.ceiling = i;
  }
  return l;
}

// Conflicts are limits crossing provenance: a data choice under an architecture floor, an
// architecture choice over a data ceiling, … Within one provenance a limit is ordinary
// refinement. The base preset is not a rule, so limiting its choice is never a conflict.
bool crosses_provenance(const Recipe& recipe, int chooser, int limiter) {
  return chooser >= 0 && recipe.rules[chooser].provenance != recipe.rules[limiter].provenance;
}

void apply_limits(const Recipe& recipe, size_t tensor, TensorPick& pick, Resolution& res) {
  Limits l = find_limits(recipe, pick.matched);
  if (l.floor >= 0 && l.ceiling >= 0 &&
      type_bits(*recipe.rules[l.floor].min_type) > type_bits(*recipe.rules[l.ceiling].max_type)) {
    res.conflicts.push_back({tensor, ConflictKind::kFloorAboveCeiling, l.floor, l.ceiling,
                             *recipe.rules[l.ceiling].max_type, *recipe.rules[l.floor].min_type});
    l.ceiling = -1;  // precision is kept: the floor wins
  }
  if (!pick.chosen) return;
  const GgmlType chosen = *pick.chosen;
  if (l.floor >= 0 && type_bits(chosen) < type_bits(*recipe.rules[l.floor].min_type)) {
    pick.type = recipe.rules[l.floor].min_type;
    pick.floor_by = l.floor;
    if (crosses_provenance(recipe, pick.chosen_by, l.floor))
      res.conflicts.push_back(
          {tensor, ConflictKind::kBelowFloor, pick.chosen_by, l.floor, chosen, *pick.type});
  } else if (l.ceiling >= 0 && type_bits(chosen) > type_bits(*recipe.rules[l.ceiling].max_type)) {
    pick.type = recipe.rules[l.ceiling].max_type;
    pick.ceiling_by = l.ceiling;
    if (crosses_provenance(recipe, pick.chosen_by, l.ceiling))
      res.conflicts.push_back(
          {tensor, ConflictKind::kAboveCeiling, pick.chosen_by, l.ceiling, chosen, *pick.type});
  }
}

bool row_fits(const TensorDesc& t, GgmlType type) {
  return t.shape.empty() || t.shape[0] % quant_type(type).block_size == 0;
}

}  // namespace

Resolution resolve_recipe(const CompiledRecipe& compiled, std::span<const TensorDesc> tensors,
                          std::span<const std::optional<GgmlType>> base) {
  const Recipe& recipe = compiled.recipe();
  Resolution res;
  res.picks.resize(tensors.size());
  std::vector<size_t> hits(recipe.rules.size(), 0);
  for (size_t t = 0; t < tensors.size(); ++t) {
    const TensorName parsed = parse_tensor_name(tensors[t].name);
    TensorPick& pick = res.picks[t];
    for (size_t r = 0; r < recipe.rules.size(); ++r) {
      if (!compiled.matches(r, tensors[t].name, parsed)) continue;
      pick.matched.push_back(static_cast<int>(r));
      ++hits[r];
      if (recipe.rules[r].type) {
        pick.chosen = recipe.rules[r].type;
        pick.chosen_by = static_cast<int>(r);
      }
    }
    if (!pick.chosen && t < base.size()) pick.chosen = base[t];
    pick.type = pick.chosen;
    apply_limits(recipe, t, pick, res);
    if (!pick.type) {
      res.uncovered.push_back(t);
    } else if (!row_fits(tensors[t], *pick.type)) {
      res.incompatible.push_back(t);
    }
  }
  for (size_t r = 0; r < hits.size(); ++r)
    if (hits[r] == 0) res.unused_rules.push_back(r);
  return res;
}

std::string describe_conflict(const Recipe& recipe, std::span<const TensorDesc> tensors,
                              const RuleConflict& c) {
  const std::string& name = tensors[c.tensor].name;
  const std::string a = rule_label(recipe, static_cast<size_t>(c.rule_a));
  const std::string b = rule_label(recipe, static_cast<size_t>(c.rule_b));
  switch (c.kind) {
    case ConflictKind::kBelowFloor:
      return fmt::format("{}: {} chose {} below the floor {} of {}; {} applies", name, a,
                         type_name(c.wanted), type_name(c.applied), b, type_name(c.applied));
    case ConflictKind::kAboveCeiling:
      return fmt::format("{}: {} chose {} above the ceiling {} of {}; {} applies", name, a,
                         type_name(c.wanted), type_name(c.applied), b, type_name(c.applied));
    case ConflictKind::kFloorAboveCeiling:
      return fmt::format("{}: floor {} of {} is above ceiling {} of {}; the floor wins", name,
                         type_name(c.applied), a, type_name(c.wanted), b);
  }
  return name;
}

std::vector<size_t> type_mismatches(const Resolution& res, std::span<const TensorDesc> tensors) {
  std::vector<size_t> out;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (res.picks[i].type != tensors[i].type) out.push_back(i);
  return out;
}

}  // namespace qmix
