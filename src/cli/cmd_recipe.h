// Internals of `qmix recipe` shared by cmd_recipe.cpp (extract, show, apply, transfer,
// explain), cmd_recipe_io.cpp (diff, export, import) and cmd_recipe_derive.cpp (derive).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "recipe/recipe.h"
#include "recipe/recipe_apply.h"
#include "recipe/recipe_plan.h"

namespace qmix::cli::recipe_cmd {

// What the recipe's base preset chooses for each tensor of `model`, and why (empty when the
// recipe names no base or the model was not read from a file): the types rules refine.
Expected<PresetChoices> base_choices(const Recipe& recipe, const ModelTensors& model);

// `text` to stdout when `path` is empty, else atomically to the file.
Status emit(std::string_view text, const std::string& path);

// Whether a file starts with the GGUF magic (else it is read as a recipe).
bool is_gguf(const std::string& path);

void add_diff(CLI::App& recipe, CommandTable& table);
void add_export(CLI::App& recipe, CommandTable& table);
void add_import(CLI::App& recipe, CommandTable& table);
void add_derive(CLI::App& recipe, CommandTable& table);  // cmd_recipe_derive.cpp

}  // namespace qmix::cli::recipe_cmd
