// `qmix convert: HF safetensors to GGUF` (issue #7). Placeholder: registers nothing until the command lands.
#include "cli/commands.h"

namespace qmix::cli {
void register_convert(CLI::App& /*app*/, CommandTable& /*table*/) {}
}  // namespace qmix::cli
