// Block layouts of the IQ1/IQ2/IQ3 formats (as stored in GGUF, little-endian) and of their dot
// partner Q8_K, shared by the scalar and AVX2 kernels of this family.
#pragma once

#include <cstdint>

#include "core/fp16.h"

namespace qmix::iq2 {

constexpr int kBlock = 256;  // values per block (ggml's QK_K)

struct BlockIq2xxs {
  fp16_t d;
  uint16_t qs[kBlock / 8];  // per 32 values: 4 grid bytes, then 4x7 sign bits + 4-bit scale
};
struct BlockIq2xs {
  fp16_t d;
  uint16_t qs[kBlock / 8];      // 9-bit grid index | 7 sign bits << 9
  uint8_t scales[kBlock / 32];  // two 4-bit scales per 32 values
};
struct BlockIq2s {
  fp16_t d;
  uint8_t qs[kBlock / 4];   // 32 low grid-index bytes, then 32 sign bytes
  uint8_t qh[kBlock / 32];  // 2 high grid-index bits per group
  uint8_t scales[kBlock / 32];
};
struct BlockIq1s {
  fp16_t d;
  uint8_t qs[kBlock / 8];    // low 8 bits of the grid index per group
  uint16_t qh[kBlock / 32];  // 3x3 high index bits, 3-bit scale << 12, shift sign << 15
};
struct BlockIq1m {
  uint8_t qs[kBlock / 8];       // low 8 bits of the grid index per group
  uint8_t qh[kBlock / 16];      // per 2 groups: 3 high bits + shift sign bit each
  uint8_t scales[kBlock / 32];  // 3-bit scales; the fp16 super-scale in the top nibbles
};
struct BlockIq3xxs {
  fp16_t d;
  uint8_t qs[3 * kBlock / 8];  // 64 grid indices (8 per 32 values), then per 32 values a
                               // little-endian word: 4x7 sign bits | 4-bit scale << 28
};
struct BlockIq3s {
  fp16_t d;
  uint8_t qs[kBlock / 4];       // low 8 bits of the grid index, 8 per 32 values
  uint8_t qh[kBlock / 32];      // 9th index bit, one byte per 32 values
  uint8_t signs[kBlock / 8];    // one sign byte per 8 values
  uint8_t scales[kBlock / 64];  // two 4-bit scales per byte
};
struct BlockQ8K {
  float d;
  int8_t qs[kBlock];
  int16_t bsums[kBlock / 16];  // sums of 16 consecutive qs
};

static_assert(sizeof(BlockIq2xxs) == 66);
static_assert(sizeof(BlockIq2xs) == 74);
static_assert(sizeof(BlockIq2s) == 82);
static_assert(sizeof(BlockIq1s) == 50);
static_assert(sizeof(BlockIq1m) == 56);
static_assert(sizeof(BlockIq3xxs) == 98);
static_assert(sizeof(BlockIq3s) == 110);
static_assert(sizeof(BlockQ8K) == 292);

// IQ1 grid values are shifted by ±kIq1Delta (ggml's IQ1S_DELTA / IQ1M_DELTA).
constexpr float kIq1Delta = 0.125f;

// The float steps of the dot products live in iq2_blocks.cpp, compiled without FMA, so the
// scalar and AVX2 kernels (whose files allow contraction) round identically.
// sum + (dx * dy) * s, as ggml's generic kernels accumulate blocks.
float accumulate_block(float sum, float dx, float dy, float s);
// IQ1 block sum: grid_sum + shift_sum / 8.
float iq1_block_sum(int32_t grid_sum, int32_t shift_sum);

// IQ1_M keeps its fp16 super-scale in the top nibble of each of the four 16-bit scale words.
inline fp16_t iq1m_super_scale(const BlockIq1m& b) {
  uint16_t sc[4];
  for (int i = 0; i < 4; ++i)
    sc[i] = static_cast<uint16_t>(b.scales[2 * i] | (b.scales[2 * i + 1] << 8));
  return static_cast<fp16_t>((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) |
                             (sc[3] & 0xf000));
}

}  // namespace qmix::iq2
