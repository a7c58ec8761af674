// `qmix plan / fit: per-tensor types under a budget` (issue #12). Placeholder: registers nothing
// until the command lands.
#include "cli/commands.h"

namespace qmix::cli {
void register_plan(CLI::App& /*app*/, CommandTable& /*table*/) {}
}  // namespace qmix::cli
