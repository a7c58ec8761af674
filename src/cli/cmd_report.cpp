// `qmix report / workflow: HTML report, end-to-end run` (issue #13). Placeholder: registers nothing until the command lands.
#include "cli/commands.h"

namespace qmix::cli {
void register_report(CLI::App& /*app*/, CommandTable& /*table*/) {}
}  // namespace qmix::cli
