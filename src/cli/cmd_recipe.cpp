// `qmix recipe: extract, diff, explain, export` (issue #6). Placeholder: registers nothing until the command lands.
#include "cli/commands.h"

namespace qmix::cli {
void register_recipe(CLI::App& /*app*/, CommandTable& /*table*/) {}
}  // namespace qmix::cli
