#include "recipe/interop.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace qmix {
namespace {

constexpr std::array<std::pair<InteropFormat, std::string_view>, 3> kFormats = {{
    {InteropFormat::kLlamaQuantize, "llama-quantize"},
    {InteropFormat::kTensorTypeFile, "tensor-type-file"},
    {InteropFormat::kIkCustomQ, "ik-custom-q"},
}};

std::string roles_regex(const std::vector<RoleSelector>& roles) {
  std::string alts;
  for (const RoleSelector& s : roles) {
    if (!alts.empty()) alts += '|';
    alts += role_info(s.role).name;
    alts += s.suffix ? "\\." + *s.suffix : std::string("(?:\\.weight|\\.bias)?");
  }
  return "(?:" + alts + ")";
}

std::string layers_regex(const LayerSet& layers) {
  std::string alts;
  for (int b : layers.blocks()) alts += fmt::format("{}{}", alts.empty() ? "" : "|", b);
  return "blk\\.(?:" + alts + ")\\.";
}

// The tool's own quoting: POSIX shell single quotes.
std::string shell_quote(std::string_view s) {
  std::string out = "'";
  for (const char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

Expected<std::string> export_item(const Recipe& recipe, size_t i, InteropFormat format) {
  const RecipeRule& r = recipe.rules[i];
  const auto fail = [&](std::string_view what) {
    return Error{ErrorCode::kUnsupported,
                 fmt::format("{}: {} (pass --model to export the types it resolves to)",
                             rule_label(recipe, i), what)};
  };
  if (r.is_limit()) return fail("floors and ceilings (min/max) have no equivalent in other tools");
  QMIX_TRY_ASSIGN(const std::string regex, rule_regex(r));
  // Both tools split an item at its first '='; ik_llama.cpp also splits the list at commas;
  // llama-quantize lowercases the pattern.
  if (regex.find('=') != std::string::npos) return fail("the pattern would contain '='");
  if (format == InteropFormat::kIkCustomQ && regex.find(',') != std::string::npos)
    return fail("the pattern contains ',' which --custom-q uses as separator");
  if (format != InteropFormat::kIkCustomQ && std::any_of(regex.begin(), regex.end(), [](char c) {
        return std::isupper(static_cast<unsigned char>(c));
      }))
    return fail("llama-quantize lowercases patterns and this one has upper-case characters");
  return fmt::format("{}={}", regex, type_name(*r.type));
}

// Shell-like words: whitespace separates, quotes group, '#' at a word start comments, a
// backslash before a newline continues the line. Other backslashes are kept (regex escapes).
std::vector<std::string> split_words(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      if (c == quote)
        quote = 0;
      else
        word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '#' && !in_word) {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '\\' && i + 1 < text.size() && text[i + 1] == '\n') {
      ++i;  // line continuation; any other backslash belongs to the regex
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

// The `REGEX=TYPE` items, in the order given, from the words of an argument list.
Expected<std::vector<std::string>> collect_items(std::string_view text, InteropFormat format) {
  const std::string_view flag =
      format == InteropFormat::kIkCustomQ ? "--custom-q" : "--tensor-type";
  const std::vector<std::string> words = split_words(text);
  std::vector<std::string> values;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == flag) {
      if (i + 1 == words.size())
        return make_error(ErrorCode::kInvalidArgument, "{} without a value", flag);
      values.push_back(words[++i]);
    } else if (w.starts_with(std::string(flag) + "=")) {
      values.push_back(w.substr(flag.size() + 1));
    } else if (w.starts_with("-")) {
      return make_error(ErrorCode::kInvalidArgument, "unexpected option '{}' (only {} is read)", w,
                        flag);
    } else {
      values.push_back(w);
    }
  }
  if (format != InteropFormat::kIkCustomQ) return values;
  std::vector<std::string> items;
  for (const std::string& v : values) {
    size_t start = 0;
    while (start <= v.size()) {
      const size_t comma = std::min(v.find(',', start), v.size());
      if (comma > start) items.push_back(v.substr(start, comma - start));
      start = comma + 1;
    }
  }
  return items;
}

Expected<RecipeRule> import_item(const std::string& item, size_t index, std::string_view source,
                                 std::string_view flag) {
  const size_t eq = item.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
    return make_error(ErrorCode::kInvalidArgument, "{}: item {} '{}' is not REGEX=TYPE", source,
                      index + 1, item);
  RecipeRule rule;
  rule.match = item.substr(0, eq);
  auto type = recipe_type_by_name(item.substr(eq + 1));
  if (!type.ok()) return type.error().with_context(fmt::format("{}: item {}", source, index + 1));
  rule.type = *type;
  rule.provenance = Provenance::kManual;
  rule.reason = fmt::format("imported from {} ({})", source, flag);
  return rule;
}

}  // namespace

Expected<InteropFormat> interop_format_by_name(std::string_view name) {
  for (const auto& [format, known] : kFormats)
    if (known == name) return format;
  return make_error(ErrorCode::kInvalidArgument, "unknown format '{}' (expected {})", name,
                    interop_format_names());
}

std::string interop_format_names() {
  std::string out;
  for (const auto& [format, name] : kFormats)
    out += fmt::format("{}{}", out.empty() ? "" : ", ", name);
  return out;
}

Expected<std::string> rule_regex(const RecipeRule& r) {
  for (const RoleSelector& s : r.roles)
    if (s.role == Role::kOther)
      return make_error(ErrorCode::kUnsupported, "role 'other' has no regex form");
  std::string selectors;
  if (!r.roles.empty()) {
    const std::string prefix = r.layers ? layers_regex(*r.layers) : "(?:blk\\.[0-9]+\\.)?";
    selectors = fmt::format("^{}{}$", prefix, roles_regex(r.roles));
  } else if (r.layers) {
    selectors = fmt::format("^{}", layers_regex(*r.layers));
  }
  if (r.match.empty()) return selectors.empty() ? std::string(".*") : selectors;
  if (selectors.empty()) return r.match;
  // Both: the selectors anchor at the start; the search regex becomes a lookahead.
  const std::string look =
      r.match.starts_with('^') ? "(?=" + r.match + ")" : "(?=.*(?:" + r.match + "))";
  return "^" + look + selectors.substr(1);
}

Expected<std::string> export_recipe(const Recipe& recipe, InteropFormat format) {
  std::vector<std::string> items;
  for (size_t i = 0; i < recipe.rules.size(); ++i) {
    QMIX_TRY_ASSIGN(std::string item, export_item(recipe, i, format));
    items.push_back(std::move(item));
  }
  // First match wins in both tools: the recipe's last rule goes first.
  std::reverse(items.begin(), items.end());
  std::string out;
  switch (format) {
    case InteropFormat::kLlamaQuantize:
      for (const std::string& item : items)
        out += fmt::format("--tensor-type {}\n", shell_quote(item));
      break;
    case InteropFormat::kTensorTypeFile:
      for (const std::string& item : items) out += item + "\n";
      break;
    case InteropFormat::kIkCustomQ: {
      std::string list;
      for (const std::string& item : items) list += (list.empty() ? "" : ",") + item;
      out = fmt::format("--custom-q {}\n", shell_quote(list));
      break;
    }
  }
  return out;
}

Expected<Recipe> import_recipe(std::string_view text, InteropFormat format,
                               std::string_view source) {
  QMIX_TRY_ASSIGN(const std::vector<std::string> items, collect_items(text, format));
  if (items.empty())
    return make_error(ErrorCode::kInvalidArgument, "{}: no REGEX=TYPE items found", source);
  const std::string_view flag =
      format == InteropFormat::kIkCustomQ ? "--custom-q" : "--tensor-type";
  Recipe recipe;
  recipe.name = std::string(source);
  recipe.description = fmt::format("imported from {} ({})", source, flag);
  for (size_t i = 0; i < items.size(); ++i) {
    QMIX_TRY_ASSIGN(RecipeRule rule, import_item(items[i], i, source, flag));
    // llama-quantize matches the lowercased pattern; keep what it would have matched.
    if (format != InteropFormat::kIkCustomQ)
      std::transform(rule.match.begin(), rule.match.end(), rule.match.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    recipe.rules.push_back(std::move(rule));
  }
  std::reverse(recipe.rules.begin(), recipe.rules.end());  // first match → last match wins
  QMIX_TRY(validate_recipe(recipe, source));
  return recipe;
}

}  // namespace qmix
