// The TOML form of a recipe (docs/recipe.md). Errors carry "file:line:" and name the rule and
// key; unknown keys are errors so that typos never pass silently.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.h"
#include "recipe/recipe.h"

namespace qmix {

// `source` names the text in messages ("r.toml").
Expected<Recipe> parse_recipe(std::string_view toml_text, std::string_view source);
Expected<Recipe> load_recipe(const std::filesystem::path& path);

// Canonical text: parse_recipe(write_recipe(r)) == r.
std::string write_recipe(const Recipe& recipe);
// Written through an AtomicFile: a failure leaves no partial file.
Status save_recipe(const Recipe& recipe, const std::filesystem::path& path);
Status save_text(std::string_view text, const std::filesystem::path& path);

}  // namespace qmix
