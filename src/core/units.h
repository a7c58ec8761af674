// Byte sizes as people write them on the command line ("24GiB", "24GB", "1.5G", "512M") and
// as we print them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace qmix {

// Binary units for K/M/G/T and KiB/MiB/GiB/TiB (what GPU memory is quoted in), decimal for
// KB/MB/GB/TB; a bare number is bytes. Case-insensitive.
Expected<uint64_t> parse_byte_size(std::string_view text);

std::string format_bytes(uint64_t bytes);  // "23.41 GiB"

}  // namespace qmix
