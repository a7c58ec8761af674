// Calibration input given as token ids (until text goes through the tokenizer, and for
// reproducing another tool's tokenization exactly).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace qmix {

// A JSON array of integers, or one integer per line (blank lines ignored). Ids must lie in
// [0, n_vocab) when n_vocab > 0; errors name the file and the line or index.
Expected<std::vector<int32_t>> read_token_file(const std::filesystem::path& path,
                                               int64_t n_vocab = 0);
Expected<std::vector<int32_t>> parse_token_list(std::string_view text, std::string_view name,
                                                int64_t n_vocab = 0);

}  // namespace qmix
