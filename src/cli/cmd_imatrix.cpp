// `qmix imatrix: collect, convert, stats, compare, merge` (issue #10). Placeholder: registers nothing until the command lands.
#include "cli/commands.h"

namespace qmix::cli {
void register_imatrix(CLI::App& /*app*/, CommandTable& /*table*/) {}
}  // namespace qmix::cli
