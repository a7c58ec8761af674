#include "recipe/recipe_toml.h"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"

namespace qmix {
namespace {

constexpr std::array<std::string_view, 6> kTopKeys = {"name",         "description", "base",
                                                      "architecture", "layers",      "rule"};
constexpr std::array<std::string_view, 9> kRuleKeys = {
    "match", "role", "layers", "type", "min", "max", "provenance", "reason", "evidence"};

template <size_t N>
std::string join_keys(const std::array<std::string_view, N>& keys) {
  std::string out;
  for (std::string_view k : keys) out += fmt::format("{}{}", out.empty() ? "" : ", ", k);
  return out;
}

// Where messages point: "r.toml:12".
class Locator {
 public:
  explicit Locator(std::string_view source) : source_(source) {}
  Error at(const toml::node& node, const std::string& what) const {
    return Error{ErrorCode::kInvalidArgument,
                 fmt::format("{}:{}: {}", source_, node.source().begin.line, what)};
  }
  Error at_line(int line, const std::string& what) const {
    return Error{ErrorCode::kInvalidArgument, fmt::format("{}:{}: {}", source_, line, what)};
  }

 private:
  std::string_view source_;
};

template <size_t N>
Status check_keys(const toml::table& table, const std::array<std::string_view, N>& known,
                  const Locator& loc, std::string_view where) {
  for (const auto& [key, node] : table) {
    bool found = false;
    for (std::string_view k : known) found = found || k == key.str();
    if (!found)
      return loc.at(node, fmt::format("{}unknown key '{}' (expected one of: {})", where, key.str(),
                                      join_keys(known)));
  }
  return ok_status();
}

Expected<std::string> string_of(const toml::node& node, std::string_view key, const Locator& loc,
                                std::string_view where) {
  if (const auto* s = node.as_string()) return s->get();
  return loc.at(node, fmt::format("{}'{}' must be a string", where, key));
}

Expected<GgmlType> type_of(const toml::node& node, std::string_view key, const Locator& loc,
                           std::string_view where) {
  QMIX_TRY_ASSIGN(const std::string name, string_of(node, key, loc, where));
  auto type = recipe_type_by_name(name);
  if (!type.ok()) return loc.at(node, fmt::format("{}{}: {}", where, key, type.error().message));
  return *type;
}

Expected<std::vector<RoleSelector>> roles_of(const toml::node& node, const Locator& loc,
                                             std::string_view where) {
  std::vector<const toml::node*> items;
  if (const auto* arr = node.as_array()) {
    for (const auto& item : *arr) items.push_back(&item);
    if (items.empty()) return loc.at(node, fmt::format("{}'role' is an empty list", where));
  } else {
    items.push_back(&node);
  }
  std::vector<RoleSelector> roles;
  for (const toml::node* item : items) {
    QMIX_TRY_ASSIGN(const std::string text, string_of(*item, "role", loc, where));
    auto sel = RoleSelector::parse(text);
    if (!sel.ok()) return loc.at(*item, fmt::format("{}{}", where, sel.error().message));
    roles.push_back(*sel);
  }
  return roles;
}

// layers = "0-3,7" | 5 | [0, "4-6"]
Expected<LayerSet> layers_of(const toml::node& node, const Locator& loc, std::string_view where) {
  std::vector<const toml::node*> items;
  if (const auto* arr = node.as_array()) {
    for (const auto& item : *arr) items.push_back(&item);
  } else {
    items.push_back(&node);
  }
  std::vector<LayerRange> ranges;
  for (const toml::node* item : items) {
    std::string text;
    if (const auto* i = item->as_integer()) {
      text = std::to_string(i->get());
    } else if (const auto* s = item->as_string()) {
      text = s->get();
    } else {
      return loc.at(*item, fmt::format("{}'layers' must be a string like \"0-3,7\", an integer "
                                       "or a list of those",
                                       where));
    }
    auto set = LayerSet::parse(text);
    if (!set.ok()) return loc.at(*item, fmt::format("{}{}", where, set.error().message));
    for (const LayerRange& r : set->ranges()) ranges.push_back(r);
  }
  if (ranges.empty()) return loc.at(node, fmt::format("{}'layers' is an empty list", where));
  return LayerSet::from_ranges(std::move(ranges));
}

Expected<std::vector<EvidenceItem>> evidence_of(const toml::node& node, const Locator& loc,
                                                std::string_view where) {
  const auto* table = node.as_table();
  if (!table)
    return loc.at(node, fmt::format("{}'evidence' must be a table, e.g. "
                                    "{{ imatrix = \"wiki\", kld = 0.012 }}",
                                    where));
  std::vector<EvidenceItem> items;
  for (const auto& [key, value] : *table) {
    EvidenceItem item{std::string(key.str()), std::string()};
    if (const auto* s = value.as_string()) {
      item.value = s->get();
    } else if (const auto* i = value.as_integer()) {
      item.value = i->get();
    } else if (const auto* f = value.as_floating_point()) {
      item.value = f->get();
    } else if (const auto* b = value.as_boolean()) {
      item.value = b->get();
    } else {
      return loc.at(value, fmt::format("{}evidence '{}' must be a string, number or boolean", where,
                                       key.str()));
    }
    items.push_back(std::move(item));
  }
  return items;
}

Status read_rule_effects(const toml::table& t, RecipeRule& rule, const Locator& loc,
                         std::string_view where) {
  if (const auto* n = t.get("type")) {
    QMIX_TRY_ASSIGN(rule.type, type_of(*n, "type", loc, where));
  }
  if (const auto* n = t.get("min")) {
    QMIX_TRY_ASSIGN(rule.min_type, type_of(*n, "min", loc, where));
  }
  if (const auto* n = t.get("max")) {
    QMIX_TRY_ASSIGN(rule.max_type, type_of(*n, "max", loc, where));
  }
  const auto* prov = t.get("provenance");
  if (!prov)
    return loc.at(
        t, fmt::format("{}needs provenance = \"architecture\", \"data\" or \"manual\"", where));
  QMIX_TRY_ASSIGN(const std::string prov_name, string_of(*prov, "provenance", loc, where));
  auto p = provenance_by_name(prov_name);
  if (!p.ok()) return loc.at(*prov, fmt::format("{}{}", where, p.error().message));
  rule.provenance = *p;
  if (const auto* n = t.get("reason")) {
    QMIX_TRY_ASSIGN(rule.reason, string_of(*n, "reason", loc, where));
  }
  if (const auto* n = t.get("evidence")) {
    QMIX_TRY_ASSIGN(rule.evidence, evidence_of(*n, loc, where));
  }
  return ok_status();
}

Expected<RecipeRule> read_rule(const toml::node& node, size_t index, const Locator& loc) {
  const std::string where = fmt::format("rule #{}: ", index + 1);
  const auto* t = node.as_table();
  if (!t) return loc.at(node, where + "must be a table ([[rule]])");
  QMIX_TRY(check_keys(*t, kRuleKeys, loc, where));
  RecipeRule rule;
  rule.line = static_cast<int>(t->source().begin.line);
  if (const auto* n = t->get("match")) {
    QMIX_TRY_ASSIGN(rule.match, string_of(*n, "match", loc, where));
  }
  if (const auto* n = t->get("role")) {
    QMIX_TRY_ASSIGN(rule.roles, roles_of(*n, loc, where));
  }
  if (const auto* n = t->get("layers")) {
    QMIX_TRY_ASSIGN(rule.layers, layers_of(*n, loc, where));
  }
  QMIX_TRY(read_rule_effects(*t, rule, loc, where));
  return rule;
}

Status read_header(const toml::table& root, Recipe& recipe, const Locator& loc) {
  const std::pair<std::string_view, std::string*> strings[] = {
      {"name", &recipe.name},
      {"description", &recipe.description},
      {"base", &recipe.base},
      {"architecture", &recipe.architecture}};
  for (const auto& [key, field] : strings)
    if (const auto* n = root.get(key)) {
      QMIX_TRY_ASSIGN(*field, string_of(*n, key, loc, ""));
    }
  if (const auto* n = root.get("layers")) {
    const auto* i = n->as_integer();
    if (!i || i->get() < 0 || i->get() > 100000)
      return loc.at(*n, "'layers' must be the model's block count (an integer >= 0)");
    recipe.layers = static_cast<int>(i->get());
  }
  return ok_status();
}

}  // namespace

Expected<Recipe> parse_recipe(std::string_view toml_text, std::string_view source) {
  const Locator loc(source);
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    return loc.at_line(static_cast<int>(e.source().begin.line),
                       fmt::format("invalid TOML: {}", e.description()));
  }
  QMIX_TRY(check_keys(root, kTopKeys, loc, ""));
  Recipe recipe;
  QMIX_TRY(read_header(root, recipe, loc));
  if (const auto* rules = root.get("rule")) {
    const auto* arr = rules->as_array();
    if (!arr) return loc.at(*rules, "'rule' must be an array of tables ([[rule]])");
    for (size_t i = 0; i < arr->size(); ++i) {
      QMIX_TRY_ASSIGN(RecipeRule rule, read_rule((*arr)[i], i, loc));
      recipe.rules.push_back(std::move(rule));
    }
  }
  QMIX_TRY(validate_recipe(recipe, source));
  return recipe;
}

Expected<Recipe> load_recipe(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "{}: cannot open recipe", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return make_error(ErrorCode::kIo, "{}: read failed", path.string());
  return parse_recipe(text.str(), path.string());
}

namespace {

// TOML basic string with the escapes the spec requires.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04X}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// Regexes read best as literal strings (no doubled backslashes) when they can be one.
std::string quote_regex(std::string_view s) {
  for (const char c : s)
    if (c == '\'' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return quote(s);
  return fmt::format("'{}'", s);
}

std::string format_float(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

// Keys in alphabetical order: TOML tables are unordered and toml++ hands them back sorted,
// so this is the order a parsed recipe has.
std::string format_evidence(std::vector<EvidenceItem> items) {
  std::sort(items.begin(), items.end(),
            [](const EvidenceItem& a, const EvidenceItem& b) { return a.key < b.key; });
  std::string out = "{ ";
  for (size_t i = 0; i < items.size(); ++i) {
    const EvidenceItem& e = items[i];
    std::string value;
    if (const auto* s = std::get_if<std::string>(&e.value)) value = quote(*s);
    if (const auto* n = std::get_if<int64_t>(&e.value)) value = std::to_string(*n);
    if (const auto* d = std::get_if<double>(&e.value)) value = format_float(*d);
    if (const auto* b = std::get_if<bool>(&e.value)) value = *b ? "true" : "false";
    // Bare keys only when they are bare-key safe; otherwise quoted.
    const bool bare = !e.key.empty() && e.key.find_first_not_of(
                                            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                            "0123456789_-") == std::string::npos;
    out += fmt::format("{}{} = {}", i ? ", " : "", bare ? e.key : quote(e.key), value);
  }
  return out + " }";
}

void write_rule(std::string& out, const RecipeRule& r) {
  out += "\n[[rule]]\n";
  if (!r.roles.empty()) {
    if (r.roles.size() == 1) {
      out += fmt::format("role = {}\n", quote(r.roles[0].to_string()));
    } else {
      std::string list;
      for (const RoleSelector& s : r.roles)
        list += (list.empty() ? "" : ", ") + quote(s.to_string());
      out += fmt::format("role = [{}]\n", list);
    }
  }
  if (r.layers) out += fmt::format("layers = {}\n", quote(r.layers->to_string()));
  if (!r.match.empty()) out += fmt::format("match = {}\n", quote_regex(r.match));
  if (r.type) out += fmt::format("type = {}\n", quote(type_name(*r.type)));
  if (r.min_type) out += fmt::format("min = {}\n", quote(type_name(*r.min_type)));
  if (r.max_type) out += fmt::format("max = {}\n", quote(type_name(*r.max_type)));
  out += fmt::format("provenance = {}\n", quote(provenance_name(r.provenance)));
  out += fmt::format("reason = {}\n", quote(r.reason));
  if (!r.evidence.empty()) out += fmt::format("evidence = {}\n", format_evidence(r.evidence));
}

}  // namespace

std::string write_recipe(const Recipe& recipe) {
  std::string out =
      "# qmix recipe: ordered rules, the last matching `type` decides (docs/recipe.md)\n";
  const std::pair<std::string_view, const std::string*> strings[] = {
      {"name", &recipe.name},
      {"description", &recipe.description},
      {"base", &recipe.base},
      {"architecture", &recipe.architecture}};
  for (const auto& [key, value] : strings)
    if (!value->empty()) out += fmt::format("{} = {}\n", key, quote(*value));
  if (recipe.layers > 0) out += fmt::format("layers = {}\n", recipe.layers);
  for (const RecipeRule& r : recipe.rules) write_rule(out, r);
  return out;
}

Status save_text(std::string_view text, const std::filesystem::path& path) {
  QMIX_TRY_ASSIGN(AtomicFile file, AtomicFile::create(path));
  QMIX_TRY(file.write(std::as_bytes(std::span(text.data(), text.size()))));
  return file.commit();
}

Status save_recipe(const Recipe& recipe, const std::filesystem::path& path) {
  return save_text(write_recipe(recipe), path);
}

}  // namespace qmix
