// The TOML of docs/recipe.md, written directly: the recipe module sits above imatrix.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "imatrix/compare.h"

namespace qmix {

namespace {

// A TOML basic string with the escapes the grammar requires.
std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\')
      out += fmt::format("\\{}", ch);
    else if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\u{:04X}", c);
    else
      out += ch;
  }
  out += '"';
  return out;
}

// An anchored regex matching exactly this tensor name.
std::string exact_name_regex(std::string_view name) {
  std::string out = "^";
  for (const char ch : name) {
    if (std::string_view(".^$|()[]{}*+?\\").find(ch) != std::string_view::npos) out += '\\';
    out += ch;
  }
  out += '$';
  return out;
}

std::string toml_number(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : "nan"; }

// Evidence keys in alphabetical order, the order docs/recipe.md keeps them in.
std::string evidence_toml(const TensorComparison& t, const RecipePatchOptions& o) {
  std::vector<std::pair<std::string_view, std::string>> items;
  if (!std::isnan(t.ci_low)) {
    items.emplace_back("ci_high", toml_number(t.ci_high));
    items.emplace_back("ci_low", toml_number(t.ci_low));
  }
  if (!o.domain_name.empty()) items.emplace_back("domain", toml_string(o.domain_name));
  items.emplace_back("domain_mean", toml_number(t.domain_mean));
  if (!o.generic_name.empty()) items.emplace_back("generic", toml_string(o.generic_name));
  items.emplace_back("generic_mean", toml_number(t.generic_mean));
  items.emplace_back("ratio", toml_number(t.ratio));
  if (!std::isnan(t.ci_low)) items.emplace_back("uncertain", t.uncertain ? "true" : "false");
  std::string out;
  for (const auto& [key, value] : items)
    out += fmt::format("{}{} = {}", out.empty() ? "" : ", ", key, value);
  return out;
}

// A TOML literal string (no escapes, as docs/recipe.md suggests for regexes) when possible.
std::string toml_literal(std::string_view s) {
  if (s.find('\'') != std::string_view::npos || s.find('\n') != std::string_view::npos)
    return toml_string(s);
  return fmt::format("'{}'", s);
}

std::string rule_toml(const TensorComparison& t, const RecipePatchOptions& o) {
  const bool demote = t.verdict == Verdict::kDemote;
  const std::string reason =
      fmt::format("importance on the domain corpus is {:.2f}x that on the generic corpus", t.ratio);
  return fmt::format(
      "[[rule]]\nmatch = {}\ntype = {}\nprovenance = \"data\"\nreason = {}\nevidence = {{ {} }}\n",
      toml_literal(exact_name_regex(t.name)), toml_string(demote ? o.demote_type : o.promote_type),
      toml_string(reason), evidence_toml(t, o));
}

}  // namespace

std::string recipe_patch_toml(const ImatrixComparison& comparison,
                              const RecipePatchOptions& options) {
  std::string out = fmt::format(
      "# Made by `qmix imatrix compare`: tensors whose importance moved between the corpora.\n"
      "name = \"imatrix-compare\"\ndescription = {}\n",
      toml_string(
          fmt::format("domain {} vs generic {}", options.domain_name, options.generic_name)));
  for (const auto& t : comparison.tensors) {
    if (t.verdict == Verdict::kKeep || (t.uncertain && !options.include_uncertain)) continue;
    out += fmt::format("\n{}", rule_toml(t, options));
  }
  return out;
}

}  // namespace qmix
