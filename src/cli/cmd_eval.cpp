// `qmix perplexity, kld, compare` (issue #11). Placeholder: registers nothing until the command lands.
#include "cli/commands.h"

namespace qmix::cli {
void register_eval(CLI::App& /*app*/, CommandTable& /*table*/) {}
}  // namespace qmix::cli
