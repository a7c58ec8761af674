// Importance matrices as llama-quantize uses them: per weight, E[x²] per input column (and per
// expert), read from a GGUF or legacy .dat imatrix file, optionally narrowed with
// --include-weights / --exclude-weights (name substrings).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "imatrix/imatrix.h"
#include "recipe/quantize_model.h"

namespace qmix {

struct ImportanceFilter {
  std::vector<std::string> include;  // keep only entries whose name contains one of these
  std::vector<std::string> exclude;  // drop entries whose name contains one of these
};

// The quantizer's view of an imatrix. `file` is recorded as given (quantize.imatrix.file).
ImportanceData importance_from_imatrix(const Imatrix& imatrix, std::string file,
                                       const ImportanceFilter& filter);
Expected<ImportanceData> read_importance(const std::filesystem::path& path,
                                         const ImportanceFilter& filter);

}  // namespace qmix
