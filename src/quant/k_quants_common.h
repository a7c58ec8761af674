// The k-quants (q2_K … q6_K): 256-value super-blocks of 16- or 32-value sub-blocks, each with
// an integer scale (and, for the affine formats, an integer minimum) under half-precision
// super-scales. Every format here is one packing of the same meaning, `SuperBlock`:
//   value i of sub-block j = (d * scale[j]) * (level[i] - bias) - (dmin * min[j])
// so dequantization, dot products, ggml's requantization step and our search are written
// once against `SuperBlock` + `Format`; each format file only packs, unpacks and fits.
#pragma once

#include <cstdint>

#include "core/fp16.h"
#include "quant/block_layouts.h"

namespace qmix::kquant {

using layout::BlockQ8K;
inline constexpr int kQKK = layout::kQKK;
inline constexpr int kMaxSubBlocks = kQKK / 16;

// Byte layouts (ggml-common.h). 2-bit fields: byte l of each 32-byte group g holds values
// 128g + l + 32k in bits 2k..2k+1; nibble fields: byte l of group g holds value 64g + l (low)
// and 64g + l + 32 (high).
struct BlockQ2K {
  uint8_t scales[kQKK / 16];  // scale | min << 4 per 16 values
  uint8_t qs[kQKK / 4];
  fp16_t d;
  fp16_t dmin;
};
struct BlockQ3K {
  uint8_t hmask[kQKK / 8];  // bit k of byte l: third bit of value 32k + l
  uint8_t qs[kQKK / 4];
  uint8_t scales[12];  // sixteen 6-bit scales, biased by 32
  fp16_t d;
};
struct BlockQ4K {
  fp16_t d;
  fp16_t dmin;
  uint8_t scales[12];  // eight 6-bit scales and eight 6-bit mins
  uint8_t qs[kQKK / 2];
};
struct BlockQ5K {
  fp16_t d;
  fp16_t dmin;
  uint8_t scales[12];
  uint8_t qh[kQKK / 8];  // bits 2g, 2g+1 of byte l: fifth bit of values 64g + l, 64g + l + 32
  uint8_t qs[kQKK / 2];
};
struct BlockQ6K {
  uint8_t ql[kQKK / 2];  // per 128 values: low nibbles of l, l+64 | of l+32, l+96
  uint8_t qh[kQKK / 4];  // per 128 values: byte l holds the top 2 bits of l + 32k in 2k..2k+1
  int8_t scales[kQKK / 16];
  fp16_t d;
};
static_assert(sizeof(BlockQ2K) == 84 && sizeof(BlockQ3K) == 110);
static_assert(sizeof(BlockQ4K) == 144 && sizeof(BlockQ5K) == 176 && sizeof(BlockQ6K) == 210);

// The facts that distinguish the formats' meaning.
struct Format {
  int sub_block;  // values per sub-block: 16 or 32
  int max_level;  // levels are 0..max_level
  int bias;       // level of zero (symmetric formats); 0 for affine ones
  int min_scale;  // range of the integer sub-block scales
  int max_scale;
  int max_min;  // integer sub-block minimums are 0..max_min; 0: no minimum (symmetric)

  constexpr bool affine() const { return max_min > 0; }
  constexpr int sub_blocks() const { return kQKK / sub_block; }
};
inline constexpr Format kFormatQ2K{16, 3, 0, 0, 15, 15};
inline constexpr Format kFormatQ3K{16, 7, 4, -32, 31, 0};
inline constexpr Format kFormatQ4K{32, 15, 0, 0, 63, 63};
inline constexpr Format kFormatQ5K{32, 31, 0, 0, 63, 63};
inline constexpr Format kFormatQ6K{16, 63, 32, -128, 127, 0};

// The scales part of a super-block (what the SIMD kernels decode; they take levels directly).
struct BlockScales {
  fp16_t d = 0;
  fp16_t dmin = 0;
  int16_t scale[kMaxSubBlocks] = {};
  int16_t min[kMaxSubBlocks] = {};
};
struct SuperBlock : BlockScales {
  uint8_t level[kQKK] = {};
};

// ---- packings shared by several formats (k_quants_common.cpp)

// 2-bit planes of q2_K/q3_K (the low two bits of each level).
void pack_2bit(const uint8_t* levels, uint8_t* qs);
void unpack_2bit(const uint8_t* qs, uint8_t* levels);
// Nibbles of q4_K/q5_K (the low four bits of each level).
void pack_nibbles(const uint8_t* levels, uint8_t* qs);
void unpack_nibbles(const uint8_t* qs, uint8_t* levels);
// The eight 6-bit scales and mins of q4_K/q5_K (ggml's get_scale_min_k4 and its inverse).
void pack_scales_mins(const int16_t* scales, const int16_t* mins, uint8_t* packed);
void unpack_scales_mins(const uint8_t* packed, int16_t* scales, int16_t* mins);
// The sixteen signed 6-bit scales of q3_K (stored biased by 32).
void pack_q3_scales(const int16_t* scales, uint8_t* packed);
void unpack_q3_scales(const uint8_t* packed, int16_t* scales);

// ---- the meaning (k_quants_common.cpp)

// Float values of a super-block, exactly as ggml's dequantize_row_q*_K computes them.
void dequantize(const SuperBlock& s, const Format& f, float* y);

// Integer sums of one super-block against its Q8_K activations:
// isum = Σ_j scale[j] Σ_i (level - bias) q8, msum = Σ_j min[j] Σ_i q8 (from bsums).
struct IntegerDot {
  int32_t isum = 0;
  int32_t msum = 0;
};
IntegerDot integer_dot(const SuperBlock& s, const Format& f, const BlockQ8K& y);

// A super-block's share of a dot product. Shared by the scalar and the AVX2 kernels (both
// compile it without contraction) so that they round alike.
inline float dot_contribution(float d, float dmin, float d8, IntegerDot sums) {
  const float scaled = static_cast<float>(sums.isum) * (d * d8);
  return sums.msum == 0 ? scaled : scaled - static_cast<float>(sums.msum) * (dmin * d8);
}

// ggml's last step of every k-quant quantizer: with the integer scales (and mins) and the
// super-scales fixed, each value takes the nearest level of its sub-block; sub-blocks whose
// scale decodes to zero keep the levels they already have.
void requantize(const float* x, const Format& f, SuperBlock& s);

// ---- generic row kernels over a format's Traits:
//   using Block; static constexpr Format format;
//   static void decode(const Block&, SuperBlock&); static void encode(const SuperBlock&, Block&);

template <class Traits>
void dequantize_row(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const typename Traits::Block*>(src);
  SuperBlock s;
  for (int64_t b = 0; b < n / kQKK; ++b, dst += kQKK) {
    Traits::decode(x[b], s);
    dequantize(s, Traits::format, dst);
  }
}

// Block b adds into the fixed lanes of block_sum.h.
float dot_rows(const void* weights, const void* activations, int64_t n,
               float (*block)(const void* weights, int64_t b, const BlockQ8K& y));

template <class Traits>
float dot_row(const void* weights, const void* activations, int64_t n) {
  return dot_rows(weights, activations, n, [](const void* w, int64_t b, const BlockQ8K& y) {
    SuperBlock s;
    Traits::decode(static_cast<const typename Traits::Block*>(w)[b], s);
    return dot_contribution(fp16_to_fp32(s.d), fp16_to_fp32(s.dmin), y.d,
                            integer_dot(s, Traits::format, y));
  });
}

// Quantizes one super-block (qw: its 256 importances, or null) into `s`.
using SuperBlockQuantizer = void (*)(const float* x, const float* qw, SuperBlock& s);

template <class Traits, SuperBlockQuantizer kQuantize>
void quantize_row(const float* src, void* dst, int64_t n, const float* imatrix) {
  auto* y = static_cast<typename Traits::Block*>(dst);
  SuperBlock s;
  for (int64_t b = 0; b < n / kQKK; ++b) {
    kQuantize(src + b * kQKK, imatrix != nullptr ? imatrix + b * kQKK : nullptr, s);
    Traits::encode(s, y[b]);
  }
}

}  // namespace qmix::kquant
