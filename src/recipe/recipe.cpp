#include "recipe/recipe.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "recipe/name_regex.h"
#include "recipe/presets.h"

namespace qmix {
namespace {

constexpr std::array<std::pair<Provenance, std::string_view>, 3> kProvenances = {{
    {Provenance::kArchitecture, "architecture"},
    {Provenance::kData, "data"},
    {Provenance::kManual, "manual"},
}};

// Suffixes a role selector may name; the same ones parse_tensor_name() splits off.
constexpr std::array<std::string_view, 2> kSuffixes = {"weight", "bias"};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Expected<int> parse_block(std::string_view text, std::string_view whole) {
  text = trim(text);
  int value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || value < 0)
    return make_error(ErrorCode::kInvalidArgument,
                      "bad layer list '{}': '{}' is not a block index (write e.g. \"0-3,7\")",
                      whole, text);
  return value;
}

}  // namespace

std::string_view provenance_name(Provenance p) {
  for (const auto& [value, name] : kProvenances)
    if (value == p) return name;
  return "manual";
}

Expected<Provenance> provenance_by_name(std::string_view name) {
  for (const auto& [value, known] : kProvenances)
    if (known == name) return value;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown provenance '{}' (expected architecture, data or manual)", name);
}

Expected<LayerSet> LayerSet::parse(std::string_view text) {
  std::vector<LayerRange> ranges;
  std::string_view rest = text;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    const size_t dash = item.find('-');
    QMIX_TRY_ASSIGN(const int first, parse_block(item.substr(0, dash), text));
    int last = first;
    if (dash != std::string_view::npos) {
      QMIX_TRY_ASSIGN(last, parse_block(item.substr(dash + 1), text));
    }
    if (last < first)
      return make_error(ErrorCode::kInvalidArgument, "bad layer list '{}': range {} runs backwards",
                        text, item);
    ranges.push_back({first, last});
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return from_ranges(std::move(ranges));
}

LayerSet LayerSet::from_ranges(std::vector<LayerRange> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const LayerRange& a, const LayerRange& b) { return a.first < b.first; });
  LayerSet set;
  for (const LayerRange& r : ranges) {
    if (!set.ranges_.empty() && r.first <= set.ranges_.back().last + 1) {
      set.ranges_.back().last = std::max(set.ranges_.back().last, r.last);
    } else {
      set.ranges_.push_back(r);
    }
  }
  return set;
}

LayerSet LayerSet::from_blocks(std::span<const int> blocks) {
  std::vector<LayerRange> ranges;
  ranges.reserve(blocks.size());
  for (int b : blocks) ranges.push_back({b, b});
  return from_ranges(std::move(ranges));
}

bool LayerSet::contains(int block) const {
  // Few ranges per rule: a linear scan beats anything clever.
  for (const LayerRange& r : ranges_)
    if (block >= r.first && block <= r.last) return true;
  return false;
}

std::vector<int> LayerSet::blocks() const {
  std::vector<int> out;
  for (const LayerRange& r : ranges_)
    for (int b = r.first; b <= r.last; ++b) out.push_back(b);
  return out;
}

std::string LayerSet::to_string() const {
  std::string out;
  for (const LayerRange& r : ranges_) {
    if (!out.empty()) out += ',';
    out += std::to_string(r.first);
    if (r.last != r.first) out += fmt::format("-{}", r.last);
  }
  return out;
}

LayerSet LayerSet::scaled(int from, int to) const {
  if (from <= 0 || to <= 0 || from == to) return *this;
  std::vector<LayerRange> out;
  const int64_t f = from, t = to;
  for (const LayerRange& r : ranges_) {
    const int first = static_cast<int>(r.first * t / f);
    const int end = static_cast<int>((static_cast<int64_t>(r.last) + 1) * t / f);  // exclusive
    out.push_back({first, std::max(first, end - 1)});
  }
  return from_ranges(std::move(out));
}

Expected<RoleSelector> RoleSelector::parse(std::string_view text) {
  RoleSelector sel;
  std::string_view role = text;
  for (std::string_view suffix : kSuffixes) {
    if (role.size() > suffix.size() + 1 && role.ends_with(suffix) &&
        role[role.size() - suffix.size() - 1] == '.') {
      sel.suffix = std::string(suffix);
      role.remove_suffix(suffix.size() + 1);
      break;
    }
  }
  const auto found = role_by_name(role);
  if (!found) {
    std::string known;
    for (const RoleInfo& r : all_roles())
      known += fmt::format("{}{}", known.empty() ? "" : ", ", r.name);
    return make_error(ErrorCode::kInvalidArgument, "unknown role '{}' (known roles: {})", text,
                      known);
  }
  sel.role = *found;
  return sel;
}

bool RoleSelector::matches(const TensorName& name) const {
  return name.role == role && (!suffix || *suffix == name.suffix);
}

std::string RoleSelector::to_string() const {
  std::string out(role_info(role).name);
  if (suffix) out += "." + *suffix;
  return out;
}

bool RecipeRule::operator==(const RecipeRule& o) const {
  return match == o.match && roles == o.roles && layers == o.layers && type == o.type &&
         min_type == o.min_type && max_type == o.max_type && provenance == o.provenance &&
         reason == o.reason && evidence == o.evidence;
}

bool Recipe::uses_layer_ranges() const {
  return std::any_of(rules.begin(), rules.end(),
                     [](const RecipeRule& r) { return r.layers.has_value(); });
}

std::string rule_label(const Recipe& recipe, size_t index) {
  const RecipeRule& r = recipe.rules[index];
  if (r.line > 0)
    return fmt::format("rule #{} (line {}, {})", index + 1, r.line, provenance_name(r.provenance));
  return fmt::format("rule #{} ({})", index + 1, provenance_name(r.provenance));
}

std::string rule_summary(const RecipeRule& r) {
  std::vector<std::string> parts;
  if (!r.roles.empty()) {
    std::string roles;
    for (const RoleSelector& s : r.roles)
      roles += fmt::format("{}{}", roles.empty() ? "" : ",", s.to_string());
    parts.push_back("role=" + roles);
  }
  if (r.layers) parts.push_back("layers=" + r.layers->to_string());
  if (!r.match.empty()) parts.push_back(fmt::format("match='{}'", r.match));
  if (parts.empty()) parts.push_back("every tensor");
  if (r.type) parts.push_back(fmt::format("-> {}", type_name(*r.type)));
  if (r.min_type) parts.push_back(fmt::format("at least {}", type_name(*r.min_type)));
  if (r.max_type) parts.push_back(fmt::format("at most {}", type_name(*r.max_type)));
  std::string out;
  for (const std::string& p : parts) out += fmt::format("{}{}", out.empty() ? "" : " ", p);
  return out;
}

Expected<GgmlType> recipe_type_by_name(std::string_view name) {
  auto type = quant_type_by_name(name);
  if (!type.ok())
    return make_error(ErrorCode::kInvalidArgument, "unknown type '{}' (known: {})", name,
                      quant_type_names());
  return (*type)->id;
}

namespace {

Status validate_rule(const Recipe& recipe, size_t index, std::string_view source) {
  const RecipeRule& r = recipe.rules[index];
  const auto fail = [&](const std::string& what) {
    std::string where = fmt::format("rule #{}: ", index + 1);
    if (!source.empty() && r.line > 0)
      where = fmt::format("{}:{}: {}", source, r.line, where);
    else if (!source.empty())
      where = fmt::format("{}: {}", source, where);
    return Status(Error{ErrorCode::kInvalidArgument, where + what});
  };
  if (!r.type && !r.min_type && !r.max_type)
    return fail("has no effect: give it a type, min or max");
  if (r.reason.empty()) return fail("needs a reason (say why the rule exists)");
  if (r.min_type && r.max_type && type_bits(*r.min_type) > type_bits(*r.max_type))
    return fail(
        fmt::format("min {} is above max {}", type_name(*r.min_type), type_name(*r.max_type)));
  if (r.layers && r.layers->empty()) return fail("has an empty layer list");
  if (r.layers && recipe.layers > 0 && r.layers->max_block() >= recipe.layers)
    return fail(fmt::format("layer {} is outside the recipe's {} blocks (0-{})",
                            r.layers->max_block(), recipe.layers, recipe.layers - 1));
  if (!r.match.empty()) {
    auto compiled = NameRegex::compile(r.match);
    if (!compiled.ok()) return fail(compiled.error().message);
  }
  return ok_status();
}

}  // namespace

Status validate_recipe(const Recipe& recipe, std::string_view source) {
  if (recipe.layers < 0)
    return make_error(ErrorCode::kInvalidArgument, "layers must be >= 0, not {}", recipe.layers);
  if (!recipe.base.empty()) {
    auto preset = find_preset(recipe.base);
    if (!preset.ok()) {
      const std::string where = source.empty() ? "" : fmt::format("{}: ", source);
      return make_error(ErrorCode::kInvalidArgument, "{}base: {}", where, preset.error().message);
    }
  }
  for (size_t i = 0; i < recipe.rules.size(); ++i) QMIX_TRY(validate_rule(recipe, i, source));
  return ok_status();
}

std::string_view type_name(GgmlType type) { return quant_type(type).name; }

double type_bits(GgmlType type) { return quant_type(type).bits_per_weight(); }

}  // namespace qmix
