// Byte layouts of the 32-value ("legacy"), 4-bit non-linear, ternary and MXFP4 blocks, as
// ggml stores them in GGUF tensors (ggml-common.h), plus the Q8_K activation block that the
// 256-value formats take as their dot partner. Half-precision fields hold IEEE binary16 bits.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

#include "core/fp16.h"

namespace qmix::layout {

inline constexpr int kQK = 32;    // values per legacy block
inline constexpr int kQKK = 256;  // values per super-block

struct BlockQ4_0 {
  fp16_t d;
  uint8_t qs[kQK / 2];  // value j in the low nibble of qs[j], value j+16 in the high one
};
struct BlockQ4_1 {
  fp16_t d;
  fp16_t m;
  uint8_t qs[kQK / 2];
};
struct BlockQ5_0 {
  fp16_t d;
  uint8_t qh[4];  // fifth bit of value j in bit j of the little-endian 32-bit word
  uint8_t qs[kQK / 2];
};
struct BlockQ5_1 {
  fp16_t d;
  fp16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct BlockQ8_0 {
  fp16_t d;
  int8_t qs[kQK];
};
struct BlockQ8_1 {
  fp16_t d;
  fp16_t s;  // d * sum(qs), used by the dot products of the formats with a minimum
  int8_t qs[kQK];
};
struct BlockIQ4NL {
  fp16_t d;
  uint8_t qs[kQK / 2];
};
struct BlockIQ4XS {
  fp16_t d;
  uint16_t scales_h;            // high 2 bits of the eight 6-bit sub-block scales
  uint8_t scales_l[kQKK / 64];  // low 4 bits, two per byte
  uint8_t qs[kQKK / 2];
};
struct BlockTQ1_0 {
  uint8_t qs[(kQKK - 4 * kQKK / 64) / 5];  // five base-3 digits per byte
  uint8_t qh[kQKK / 64];                   // four base-3 digits per byte
  fp16_t d;
};
struct BlockTQ2_0 {
  uint8_t qs[kQKK / 4];  // four 2-bit values per byte
  fp16_t d;
};
struct BlockMXFP4 {
  uint8_t e;  // E8M0 shared exponent
  uint8_t qs[kQK / 2];
};
struct BlockQ8K {
  float d;
  int8_t qs[kQKK];
  int16_t bsums[kQKK / 16];
};

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22 && sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockIQ4NL) == 18 && sizeof(BlockIQ4XS) == 136);
static_assert(sizeof(BlockTQ1_0) == 54 && sizeof(BlockTQ2_0) == 66);
static_assert(sizeof(BlockMXFP4) == 17 && sizeof(BlockQ8K) == 292);

// Codebooks (facts of the formats). IQ4 values are sorted ascending.
inline constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};
// E2M1 values doubled, so that the block scale below is half of 2^(e-127).
inline constexpr int8_t kMxfp4Values[16] = {0, 1,  2,  3,  4,  6,  8,  12,
                                            0, -1, -2, -3, -4, -6, -8, -12};

// 2^(e-127) / 2 as ggml computes it (e < 2 gives the denormals 2^-128 and 2^-127).
inline float e8m0_to_fp32_half(uint8_t e) {
  const uint32_t bits = e < 2 ? 0x00200000u << e : static_cast<uint32_t>(e - 1) << 23;
  return std::bit_cast<float>(bits);
}

inline uint32_t load_u32_le(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}
inline void store_u32_le(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace qmix::layout
