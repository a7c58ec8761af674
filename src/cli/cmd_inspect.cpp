// `qmix inspect: metadata, tensor types, bpw` (issue #3). Placeholder: registers nothing until the command lands.
#include "cli/commands.h"

namespace qmix::cli {
void register_inspect(CLI::App& /*app*/, CommandTable& /*table*/) {}
}  // namespace qmix::cli
