// Recipes to and from other tools' per-tensor type options. Both tools search each pattern in
// the tensor name and take the FIRST pattern that matches (a recipe's last matching rule wins,
// so exported lists are in reverse rule order, and imports are reversed back):
// - llama.cpp's llama-quantize `--tensor-type REGEX=TYPE` (the pattern lowercased; split at the
//   first '='), also as the whitespace-separated `REGEX=TYPE` items of `--tensor-type-file`;
// - ik_llama.cpp's `--custom-q "REGEX=TYPE,REGEX=TYPE"`.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"
#include "recipe/recipe.h"

namespace qmix {

enum class InteropFormat { kLlamaQuantize, kTensorTypeFile, kIkCustomQ };

Expected<InteropFormat> interop_format_by_name(std::string_view name);
std::string interop_format_names();  // "llama-quantize, tensor-type-file, ik-custom-q"

// A rule's selectors as one regex (ECMAScript and PCRE alike) over the tensor name that matches
// exactly the tensors the rule selects (roles and layer lists spelled out; `match` joined by
// lookahead).
Expected<std::string> rule_regex(const RecipeRule& rule);

// Only `type` rules can be exported: the other tools know neither floors nor ceilings. Resolve
// such a recipe against a model first (bake_recipe in cmd_recipe) to export it.
Expected<std::string> export_recipe(const Recipe& recipe, InteropFormat format);

// Reads `--tensor-type` arguments (with or without the flag, quoted or not, one or many per
// line; `#` comments) or a `--custom-q` list into manual rules that keep the tool's
// precedence. `source` names the input in messages and reasons.
Expected<Recipe> import_recipe(std::string_view text, InteropFormat format,
                               std::string_view source);

}  // namespace qmix
