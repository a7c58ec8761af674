// Scalar machinery shared by the 32-value block formats (q4_0, q4_1, q5_0, q5_1; the dot
// helpers also serve q8_0, iq4_nl and mxfp4). A block stores 32 small unsigned "levels";
// symmetric formats decode level L as d * (L - 2^(bits-1)), affine ones (those with a
// minimum field m) as d * L + m. Only scalar translation units include this header.
#pragma once

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>

#include "core/fp16.h"
#include "quant/block_layouts.h"
#include "quant/block_sum.h"
#include "quant/scale_fit.h"

namespace qmix::legacy {

using layout::kQK;

template <class Block>
inline constexpr bool kHasMin = requires(Block b) {
  b.m;
};
template <class Block>
inline constexpr int kBits = requires(Block b) {
  b.qh;
}
? 5 : 4;
template <class Block>
inline constexpr int kMaxLevel = (1 << kBits<Block>)-1;
template <class Block>
inline constexpr int kHalfRange = 1 << (kBits<Block> - 1);  // level of zero (symmetric)

// Value j goes to the low nibble of qs[j], value j + 16 to the high nibble; 5-bit formats
// keep bit 4 of value j in bit j of the little-endian word qh.
inline void pack_nibbles(const uint8_t* levels, uint8_t* qs) {
  for (int j = 0; j < kQK / 2; ++j)
    qs[j] = static_cast<uint8_t>((levels[j] & 0x0F) | (levels[j + kQK / 2] & 0x0F) << 4);
}
inline void unpack_nibbles(const uint8_t* qs, uint8_t* levels) {
  for (int j = 0; j < kQK / 2; ++j) {
    levels[j] = qs[j] & 0x0F;
    levels[j + kQK / 2] = qs[j] >> 4;
  }
}

template <class Block>
void store_levels(const uint8_t* levels, Block& b) {
  pack_nibbles(levels, b.qs);
  if constexpr (kBits<Block> == 5) {
    uint32_t h = 0;
    for (int j = 0; j < kQK; ++j) h |= static_cast<uint32_t>((levels[j] >> 4) & 1) << j;
    layout::store_u32_le(b.qh, h);
  }
}

template <class Block>
void load_levels(const Block& b, uint8_t* levels) {
  unpack_nibbles(b.qs, levels);
  if constexpr (kBits<Block> == 5) {
    const uint32_t h = layout::load_u32_le(b.qh);
    for (int j = 0; j < kQK; ++j) levels[j] |= static_cast<uint8_t>(((h >> j) & 1) << 4);
  }
}

// ggml converts v with a C cast (truncation) and clamps above. v is >= 0 for finite blocks;
// a NaN (from a range that overflows float) gives 0, as the x86 conversion ggml relies on.
inline uint8_t truncate_level(float v, int max_level) {
  if (!(v >= 0.f && v < 128.f)) return 0;
  return static_cast<uint8_t>(std::min(static_cast<int>(v), max_level));
}

// ggml's quantize_row_*_ref for one block: the largest magnitude maps to level 0
// (symmetric) or the range [min, max] to [0, max level] (affine), rounding half up.
template <class Block>
void quantize_block_plain(const float* x, Block& y) {
  uint8_t levels[kQK];
  if constexpr (kHasMin<Block>) {
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < kQK; ++j) {
      if (x[j] < min) min = x[j];
      if (x[j] > max) max = x[j];
    }
    const float d = (max - min) / static_cast<float>(kMaxLevel<Block>);
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y.d = fp32_to_fp16(d);
    y.m = fp32_to_fp16(min);
    for (int j = 0; j < kQK; ++j)
      levels[j] = truncate_level((x[j] - min) * id + 0.5f, kMaxLevel<Block>);
  } else {
    float amax = 0, max = 0;
    for (int j = 0; j < kQK; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / static_cast<float>(-kHalfRange<Block>);
    const float id = d != 0 ? 1.0f / d : 0.0f;
    y.d = fp32_to_fp16(d);
    constexpr float kOffset = static_cast<float>(kHalfRange<Block>) + 0.5f;
    for (int j = 0; j < kQK; ++j) levels[j] = truncate_level(x[j] * id + kOffset, kMaxLevel<Block>);
  }
  store_levels(levels, y);
}

// ggml's quantize_row_*_impl with quant_weights: weights qw * sqrt(sigma2 + x^2), sigma2
// the row's mean square, then a weighted least-squares scale (and min) search per block.
template <class Block>
void quantize_row_weighted(const float* x, Block* y, int64_t n, const float* qw) {
  const float sigma2 = scale_fit::mean_square(x, n);
  float w[kQK];
  uint8_t levels[kQK];
  for (int64_t ib = 0; ib < n / kQK; ++ib) {
    const float* xb = x + ib * kQK;
    scale_fit::importance_weights(xb, qw + ib * kQK, sigma2, kQK, w);
    if constexpr (kHasMin<Block>) {
      float offset = 0;
      const float d = scale_fit::fit_affine(xb, w, kQK, kMaxLevel<Block>, levels, &offset);
      y[ib].d = fp32_to_fp16(d);
      y[ib].m = fp32_to_fp16(-offset);
    } else {
      const float d = scale_fit::fit_symmetric(xb, w, kQK, kHalfRange<Block>, levels);
      y[ib].d = fp32_to_fp16(d);
    }
    store_levels(levels, y[ib]);
  }
}

// What ggml_quantize_chunk produces: the plain algorithm without an imatrix, the weighted
// one with it.
template <class Block>
void quantize_row_reference(const float* src, void* dst, int64_t n, const float* imatrix) {
  Block* y = static_cast<Block*>(dst);
  if (imatrix != nullptr) {
    quantize_row_weighted(src, y, n, imatrix);
    return;
  }
  for (int64_t ib = 0; ib < n / kQK; ++ib) quantize_block_plain(src + ib * kQK, y[ib]);
}

template <class Block>
void dequantize_row(const void* src, float* dst, int64_t n) {
  const Block* x = static_cast<const Block*>(src);
  uint8_t levels[kQK];
  for (int64_t ib = 0; ib < n / kQK; ++ib, dst += kQK) {
    load_levels(x[ib], levels);
    const float d = fp16_to_fp32(x[ib].d);
    if constexpr (kHasMin<Block>) {
      const float m = fp16_to_fp32(x[ib].m);
      for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(levels[j]) * d + m;
    } else {
      for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(levels[j] - kHalfRange<Block>) * d;
    }
  }
}

// ggml's q8_0/q8_1 rounding: d = max|x| / 127, q = round(x / d) half away from zero.
// Returns d (before its rounding to half precision).
inline float quantize_block_q8(const float* x, int8_t* qs) {
  float amax = 0;
  for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.f;
  const float id = d != 0 ? 1.0f / d : 0.0f;
  for (int j = 0; j < kQK; ++j) qs[j] = static_cast<int8_t>(std::round(x[j] * id));
  return d;
}

inline int32_t dot32(const int8_t* a, const int8_t* b) {
  int32_t sum = 0;
  for (int j = 0; j < kQK; ++j) sum += static_cast<int32_t>(a[j]) * b[j];
  return sum;
}

// Dot with Q8_0 activations. decode(block, values) fills the block's 32 integer values and
// returns its scale; a block contributes (float)sum_int * (d_w * d_a).
template <class Block, class Decode>
float dot_with_q8_0(const void* weights, const void* activations, int64_t n, Decode decode) {
  const Block* x = static_cast<const Block*>(weights);
  const layout::BlockQ8_0* y = static_cast<const layout::BlockQ8_0*>(activations);
  return sum_block_contributions(n / kQK, [&](int64_t b) {
    int8_t values[kQK];
    const float dx = decode(x[b], values);
    return static_cast<float>(dot32(values, y[b].qs)) * (dx * fp16_to_fp32(y[b].d));
  });
}

// Integer values of a block's levels (level - 2^(bits-1) for symmetric formats).
template <class Block>
float decode_block(const Block& b, int8_t* values) {
  uint8_t levels[kQK];
  load_levels(b, levels);
  constexpr int kShift = kHasMin<Block> ? 0 : kHalfRange<Block>;
  for (int j = 0; j < kQK; ++j) values[j] = static_cast<int8_t>(levels[j] - kShift);
  return fp16_to_fp32(b.d);
}

template <class Block>
float dot_symmetric(const void* weights, const void* activations, int64_t n) {
  return dot_with_q8_0<Block>(weights, activations, n, decode_block<Block>);
}

// Affine formats pair with Q8_1, whose s = d_a * sum(q_a) carries the minimum's share:
// a block contributes (float)sum_int * (d_w * d_a) + m_w * s_a.
template <class Block>
float dot_affine(const void* weights, const void* activations, int64_t n) {
  const Block* x = static_cast<const Block*>(weights);
  const layout::BlockQ8_1* y = static_cast<const layout::BlockQ8_1*>(activations);
  return sum_block_contributions(n / kQK, [&](int64_t b) {
    int8_t values[kQK];
    const float dx = decode_block(x[b], values);
    const float scaled = static_cast<float>(dot32(values, y[b].qs)) * (dx * fp16_to_fp32(y[b].d));
    return scaled + fp16_to_fp32(x[b].m) * fp16_to_fp32(y[b].s);
  });
}

}  // namespace qmix::legacy
