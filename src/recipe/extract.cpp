#include "recipe/extract.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "recipe/name_regex.h"
#include "recipe/recipe_plan.h"
#include "recipe/recipe_toml.h"

namespace qmix {
namespace {

// Tensors that share a role (or, for unknown names, a name up to the block number).
struct GroupKey {
  Role role = Role::kOther;
  std::string suffix;
  std::string stem;  // kOther only: the name without "blk.N."
  bool in_block = false;
  auto operator<=>(const GroupKey&) const = default;
};

struct Member {
  int block;
  GgmlType type;
};

// How rules select a group: by role (mergeable with other roles) or by a name regex.
struct Selector {
  std::optional<RoleSelector> role;
  std::string match;
};

// One rule before merging: the group's type, or a type on some of its blocks.
struct Entry {
  Selector selector;
  GgmlType type;
  std::optional<LayerSet> layers;
  bool positional = false;  // exception on the first and/or last blocks of the role only
};

std::string stem_of(std::string_view name, int block) {
  if (block < 0) return std::string(name);
  return std::string(name.substr(fmt::format("blk.{}.", block).size()));
}

std::map<GroupKey, std::vector<Member>> group_tensors(const ModelTensors& model) {
  std::map<GroupKey, std::vector<Member>> groups;
  for (const TensorDesc& t : model.tensors) {
    const TensorName parsed = parse_tensor_name(t.name);
    GroupKey key{parsed.role, parsed.suffix, "", parsed.block >= 0};
    if (parsed.role == Role::kOther) key.stem = stem_of(t.name, parsed.block);
    groups[key].push_back({parsed.block, t.type});
  }
  return groups;
}

// A role selector must select exactly its group: the role may not also occur outside blocks
// (or inside, for a block-less group), and a suffix can only be left out when it is unique.
std::map<GroupKey, Selector> choose_selectors(
    const std::map<GroupKey, std::vector<Member>>& groups) {
  std::map<Role, std::set<std::pair<std::string, bool>>> variants;
  for (const auto& [key, members] : groups) variants[key.role].insert({key.suffix, key.in_block});
  std::map<GroupKey, Selector> out;
  for (const auto& [key, members] : groups) {
    const auto& v = variants[key.role];
    std::set<bool> placements;
    for (const auto& [suffix, in_block] : v) placements.insert(in_block);
    Selector sel;
    if (key.role != Role::kOther && placements.size() == 1 &&
        (v.size() == 1 || !key.suffix.empty())) {
      RoleSelector rs{key.role, std::nullopt};
      if (v.size() > 1) rs.suffix = key.suffix;
      sel.role = rs;
    } else {
      const std::string stem = key.role == Role::kOther
                                   ? key.stem
                                   : fmt::format("{}{}{}", role_info(key.role).name,
                                                 key.suffix.empty() ? "" : ".", key.suffix);
      const std::string escaped = escape_regex(stem);
      sel.match =
          key.in_block ? fmt::format("^blk\\.[0-9]+\\.{}$", escaped) : fmt::format("^{}$", escaped);
    }
    out[key] = sel;
  }
  return out;
}

// Ranges of `blocks`, bridging gaps made only of blocks that lack the role (don't-cares).
LayerSet bridged(const std::vector<int>& blocks, const std::vector<bool>& present) {
  std::vector<LayerRange> ranges;
  for (int b : blocks) {
    bool bridge = !ranges.empty();
    for (int g = ranges.empty() ? b : ranges.back().last + 1; bridge && g < b; ++g)
      bridge = !present[static_cast<size_t>(g)];
    if (bridge) {
      ranges.back().last = b;
    } else {
      ranges.push_back({b, b});
    }
  }
  return LayerSet::from_ranges(std::move(ranges));
}

bool is_positional(const std::vector<int>& blocks, const std::vector<int>& present_sorted) {
  size_t head = 0;
  while (head < blocks.size() && blocks[head] == present_sorted[head]) ++head;
  const size_t tail = blocks.size() - head;
  for (size_t i = 0; i < tail; ++i)
    if (blocks[head + i] != present_sorted[present_sorted.size() - tail + i]) return false;
  return true;
}

// A group's entries: a role-wide default and one block-list exception per other type.
std::vector<Entry> group_entries(const std::vector<Member>& members, const Selector& sel) {
  if (members.size() == 1 || members[0].block < 0) return {{sel, members[0].type, {}, false}};
  std::map<GgmlType, std::vector<int>> by_type;
  std::vector<int> present_sorted;
  int top = 0;
  for (const Member& m : members) {
    by_type[m.type].push_back(m.block);
    present_sorted.push_back(m.block);
    top = std::max(top, m.block);
  }
  std::sort(present_sorted.begin(), present_sorted.end());
  std::vector<bool> present(static_cast<size_t>(top) + 1, false);
  for (int b : present_sorted) present[static_cast<size_t>(b)] = true;
  for (auto& [type, blocks] : by_type) std::sort(blocks.begin(), blocks.end());

  // The dominant type (most blocks) is the default; on a tie, the one leaving fewer ranges.
  GgmlType best = by_type.begin()->first;
  size_t best_count = 0, best_cost = SIZE_MAX;
  for (const auto& [candidate, candidate_blocks] : by_type) {
    size_t cost = 0;
    for (const auto& [type, blocks] : by_type)
      if (type != candidate) cost += bridged(blocks, present).ranges().size();
    if (candidate_blocks.size() > best_count ||
        (candidate_blocks.size() == best_count && cost < best_cost)) {
      best = candidate;
      best_cost = cost;
      best_count = candidate_blocks.size();
    }
  }
  std::vector<Entry> entries = {{sel, best, {}, false}};
  for (const auto& [type, blocks] : by_type)
    if (type != best)
      entries.push_back(
          {sel, type, bridged(blocks, present), is_positional(blocks, present_sorted)});
  return entries;
}

RecipeRule make_rule(const Entry& e, const std::string& source) {
  RecipeRule r;
  if (e.selector.role) r.roles.push_back(*e.selector.role);
  r.match = e.selector.match;
  r.layers = e.layers;
  r.type = e.type;
  if (!e.layers) {
    r.provenance = Provenance::kArchitecture;
    r.reason = fmt::format("role-wide type in {}", source);
  } else if (e.positional) {
    r.provenance = Provenance::kArchitecture;
    r.reason =
        fmt::format("first/last blocks of the role differ in {} (a layer-position rule)", source);
  } else {
    r.provenance = Provenance::kData;
    r.reason = fmt::format(
        "per-block deviation in {}, as imatrix-driven mixes make; the file records no evidence",
        source);
  }
  return r;
}

// Role-selected entries with the same effect become one rule listing several roles.
std::vector<RecipeRule> merge_entries(const std::vector<Entry>& entries,
                                      const std::string& source) {
  std::vector<RecipeRule> rules;
  for (const Entry& e : entries) {
    RecipeRule candidate = make_rule(e, source);
    auto same_effect = [&](const RecipeRule& r) {
      return e.selector.role && !r.roles.empty() && r.match.empty() && r.type == candidate.type &&
             r.layers == candidate.layers && r.provenance == candidate.provenance &&
             r.reason == candidate.reason;
    };
    const auto it = std::find_if(rules.begin(), rules.end(), same_effect);
    if (it != rules.end()) {
      it->roles.push_back(*e.selector.role);
    } else {
      rules.push_back(std::move(candidate));
    }
  }
  return rules;
}

Expected<size_t> verify(const Recipe& recipe, const ModelTensors& model,
                        std::vector<size_t>* wrong) {
  QMIX_TRY_ASSIGN(const CompiledRecipe compiled, CompiledRecipe::compile(recipe));
  const Resolution res = resolve_recipe(compiled, model.tensors);
  *wrong = type_mismatches(res, model.tensors);
  return model.tensors.size() - wrong->size();
}

Expected<ExtractResult> embedded_result(const ModelTensors& model) {
  auto recipe =
      parse_recipe(*model.embedded_recipe, model.source + ":" + std::string(kRecipeMetadataKey));
  if (!recipe.ok()) return recipe.error();
  ExtractResult out;
  out.recipe = std::move(recipe).value();
  out.embedded_text = model.embedded_recipe;
  return out;
}

}  // namespace

Expected<ExtractResult> extract_recipe(const ModelTensors& model, const ExtractOptions& options) {
  if (options.prefer_embedded && model.embedded_recipe) return embedded_result(model);
  const auto groups = group_tensors(model);
  const auto selectors = choose_selectors(groups);
  std::vector<Entry> general, exceptions;
  for (const auto& [key, members] : groups)
    for (Entry& e : group_entries(members, selectors.at(key)))
      (e.layers ? exceptions : general).push_back(std::move(e));

  ExtractResult out;
  Recipe& recipe = out.recipe;
  recipe.name =
      options.name.empty() ? std::filesystem::path(model.source).stem().string() : options.name;
  recipe.base = preset_name_for_file_type(model.file_type);
  recipe.architecture = model.architecture;
  recipe.layers = model.layers;
  recipe.rules = merge_entries(general, model.source);
  for (RecipeRule& r : merge_entries(exceptions, model.source))
    recipe.rules.push_back(std::move(r));

  std::vector<size_t> wrong;
  QMIX_TRY(verify(recipe, model, &wrong));
  for (size_t i : wrong) {  // last resort, never needed for names the role table knows
    const TensorDesc& t = model.tensors[i];
    RecipeRule exact;
    exact.match = fmt::format("^{}$", escape_regex(t.name));
    exact.type = t.type;
    exact.reason = "exact type of this one tensor";
    recipe.rules.push_back(std::move(exact));
    ++out.exact_name_rules;
  }
  QMIX_TRY_ASSIGN(out.verified_tensors, verify(recipe, model, &wrong));
  if (!wrong.empty())
    return make_error(ErrorCode::kInternal, "{}: extracted recipe does not reproduce {} ({} of {})",
                      model.source, model.tensors[wrong[0]].name, wrong.size(),
                      model.tensors.size());
  recipe.description = fmt::format("extracted from {} by qmix recipe extract ({} tensors, exact)",
                                   model.source, model.tensors.size());
  return out;
}

Expected<Recipe> bake_recipe(const Recipe& recipe, const ModelTensors& model,
                             std::span<const std::optional<GgmlType>> base) {
  QMIX_TRY_ASSIGN(const CompiledRecipe compiled, CompiledRecipe::compile(recipe));
  const Resolution res = resolve_recipe(compiled, model.tensors, base);
  if (!res.uncovered.empty())
    return make_error(ErrorCode::kInvalidArgument,
                      "recipe '{}' gives {} no type ({} tensors undecided); add a rule or a base",
                      recipe.name, model.tensors[res.uncovered[0]].name, res.uncovered.size());
  ModelTensors resolved = model;
  resolved.embedded_recipe.reset();
  for (size_t i = 0; i < resolved.tensors.size(); ++i)
    resolved.tensors[i].type = *res.picks[i].type;
  ExtractOptions options;
  options.name = recipe.name;
  QMIX_TRY_ASSIGN(ExtractResult baked, extract_recipe(resolved, options));
  baked.recipe.base = recipe.base;
  baked.recipe.description =
      fmt::format("recipe '{}' resolved on {} and re-extracted", recipe.name, model.source);
  return std::move(baked.recipe);
}

}  // namespace qmix
