// `qmix quantize: presets, rules, imatrix` (issue #5). Placeholder: registers nothing until the
// command lands.
#include "cli/commands.h"

namespace qmix::cli {
void register_quantize(CLI::App& /*app*/, CommandTable& /*table*/) {}
}  // namespace qmix::cli
