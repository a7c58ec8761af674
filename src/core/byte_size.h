// Sizes given on the command line ("--split-max-size 2G").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace qmix {

// "4096", "500K", "1.5G", "2GiB": K/M/G/T are decimal (×1000, as llama.cpp's gguf-split reads
// them), KiB/MiB/GiB/TiB binary; a trailing "B" is optional. Errors name the text.
Expected<uint64_t> parse_byte_size(std::string_view text);

// "512 B", "23.41 GiB": binary units, two decimals.
std::string format_bytes(uint64_t bytes);

}  // namespace qmix
