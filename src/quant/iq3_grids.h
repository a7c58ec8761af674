// Codebooks of ggml's IQ3_XXS and IQ3_S formats (facts of the file format). ggml lists the grid
// points compactly (iq3xs_init_impl): 3 bits per element, element 0 lowest; the dequantization
// grids (ggml-common.h iq3xxs_grid / iq3s_grid) map each level to a byte. We keep the compact
// lists and derive the byte grids from them at compile time; tests pin them to ggml's tables.
#pragma once

#include <array>
#include <cstdint>

namespace qmix::iq3 {

extern const std::array<uint16_t, 256> kIq3xxsCodes;
extern const std::array<uint16_t, 512> kIq3sCodes;

// Byte value of each level: IQ3_XXS uses 4 + 8 l, except 62 (not 60) for the top level;
// IQ3_S uses 2 l + 1.
inline constexpr std::array<uint8_t, 8> kIq3xxsMagnitudes = {4, 12, 20, 28, 36, 44, 52, 62};
inline constexpr std::array<uint8_t, 8> kIq3sMagnitudes = {1, 3, 5, 7, 9, 11, 13, 15};

// Four magnitudes per entry, element 0 in the lowest byte.
extern const std::array<uint32_t, 256> iq3xxs_grid;
extern const std::array<uint32_t, 512> iq3s_grid;

inline uint8_t grid_byte(uint32_t entry, int j) { return static_cast<uint8_t>(entry >> (8 * j)); }

}  // namespace qmix::iq3
