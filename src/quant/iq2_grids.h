// Codebooks of ggml's IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S and IQ1_M formats (ggml-common.h).
// They are facts of the file format and match ggml exactly; the data lives in iq2_grids.cpp
// (IQ2 grids, sign tables) and iq1_grid.cpp (IQ1 grid).
#pragma once

#include <array>
#include <cstdint>

namespace qmix::iq2 {

// Each entry packs 8 bytes, element 0 in the lowest byte. IQ2 grids hold unsigned magnitudes
// from {0x08, 0x19, 0x2b}; the sign of each element is stored separately.
extern const std::array<uint64_t, 256> iq2xxs_grid;
extern const std::array<uint64_t, 512> iq2xs_grid;
extern const std::array<uint64_t, 1024> iq2s_grid;
// IQ1 grid: signed bytes from {-1, 0, +1}; a per-group shift of ±1/8 is added on dequantization.
extern const std::array<uint64_t, 2048> iq1s_grid;

// IQ2_XXS/IQ2_XS store 7 sign bits per group of 8; the 8th makes the count of minus signs even.
extern const std::array<uint8_t, 128> ksigns_iq2xs;
extern const std::array<uint8_t, 8> kmask_iq2xs;  // 1 << j

// Byte value of each level of the IQ2 grids.
inline constexpr std::array<uint8_t, 8> kIq2Magnitudes = {0x08, 0x19, 0x2b};

// Byte j of a grid entry.
inline uint8_t grid_byte(uint64_t entry, int j) { return static_cast<uint8_t>(entry >> (8 * j)); }

}  // namespace qmix::iq2
