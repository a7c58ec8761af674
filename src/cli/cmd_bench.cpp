// `qmix bench: throughput against baselines` (issue #15). Placeholder: registers nothing until the command lands.
#include "cli/commands.h"

namespace qmix::cli {
void register_bench(CLI::App& /*app*/, CommandTable& /*table*/) {}
}  // namespace qmix::cli
