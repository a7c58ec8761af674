// Inferring a recipe from the tensor types of any GGUF: the shortest readable rule set that
// reproduces every tensor's type exactly. Works on the header alone (no tensor data).
#pragma once

#include <optional>
#include <string>

#include "core/error.h"
#include "recipe/recipe.h"
#include "recipe/recipe_apply.h"

namespace qmix {

struct ExtractOptions {
  std::string name;  // recipe name; default: the source file's stem
  // When the file carries the recipe it was made with (kRecipeMetadataKey), return that.
  bool prefer_embedded = true;
};

struct ExtractResult {
  Recipe recipe;
  std::optional<std::string> embedded_text;  // the file's own recipe, verbatim, when returned
  size_t verified_tensors = 0;  // tensors whose type the recipe reproduces (all of them)
  size_t exact_name_rules = 0;  // last-resort rules naming one tensor (0 for regular files)
};

// How it works (docs/recipe.md, "extract"): tensors are grouped by role (or, for names no role
// table knows, by their name without the block number); each group gets its dominant type as
// a role-wide rule and its other types as block-list exceptions, blocks that lack the
// role bridging ranges; identical rules of different roles merge into one. The result is
// re-applied to the same tensor list and must reproduce every type.
Expected<ExtractResult> extract_recipe(const ModelTensors& model,
                                       const ExtractOptions& options = {});

// The types `recipe` resolves to on `model` (with `base` filling what no rule decides), as a
// new recipe of plain `type` rules re-extracted from them: what tools without floors and
// ceilings can take. A tensor left undecided is an error naming it.
Expected<Recipe> bake_recipe(const Recipe& recipe, const ModelTensors& model,
                             std::span<const std::optional<GgmlType>> base = {});

}  // namespace qmix
