// `qmix tokenize / detokenize` (issue #8). Placeholder: registers nothing until the command lands.
#include "cli/commands.h"

namespace qmix::cli {
void register_tokenize(CLI::App& /*app*/, CommandTable& /*table*/) {}
}  // namespace qmix::cli
