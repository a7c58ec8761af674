#include "quant/k_quants_common.h"

#include <algorithm>

#include "quant/block_sum.h"
#include "quant/scale_fit.h"

namespace qmix::kquant {

void pack_2bit(const uint8_t* levels, uint8_t* qs) {
  for (int g = 0; g < kQKK / 128; ++g, levels += 128, qs += 32)
    for (int l = 0; l < 32; ++l)
      qs[l] = static_cast<uint8_t>((levels[l] & 3) | (levels[l + 32] & 3) << 2 |
                                   (levels[l + 64] & 3) << 4 | (levels[l + 96] & 3) << 6);
}

void unpack_2bit(const uint8_t* qs, uint8_t* levels) {
  for (int g = 0; g < kQKK / 128; ++g, levels += 128, qs += 32)
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < 32; ++l) levels[32 * k + l] = (qs[l] >> (2 * k)) & 3;
}

void pack_nibbles(const uint8_t* levels, uint8_t* qs) {
  for (int g = 0; g < kQKK / 64; ++g, levels += 64, qs += 32)
    for (int l = 0; l < 32; ++l)
      qs[l] = static_cast<uint8_t>((levels[l] & 0xF) | (levels[l + 32] & 0xF) << 4);
}

void unpack_nibbles(const uint8_t* qs, uint8_t* levels) {
  for (int g = 0; g < kQKK / 64; ++g, levels += 64, qs += 32)
    for (int l = 0; l < 32; ++l) {
      levels[l] = qs[l] & 0xF;
      levels[l + 32] = qs[l] >> 4;
    }
}

// Sub-blocks 0..3 keep scale and min in the low 6 bits of bytes j and j + 4; sub-blocks 4..7
// keep their low 4 bits in byte j + 4 and their top 2 bits in the top of bytes j - 4 and j.
void pack_scales_mins(const int16_t* scales, const int16_t* mins, uint8_t* packed) {
  for (int j = 0; j < 4; ++j) {
    packed[j] = static_cast<uint8_t>(scales[j] & 63);
    packed[j + 4] = static_cast<uint8_t>(mins[j] & 63);
  }
  for (int j = 4; j < 8; ++j) {
    packed[j + 4] = static_cast<uint8_t>((scales[j] & 0xF) | (mins[j] & 0xF) << 4);
    packed[j - 4] |= static_cast<uint8_t>(((scales[j] >> 4) & 3) << 6);
    packed[j] |= static_cast<uint8_t>(((mins[j] >> 4) & 3) << 6);
  }
}

void unpack_scales_mins(const uint8_t* packed, int16_t* scales, int16_t* mins) {
  for (int j = 0; j < 4; ++j) {
    scales[j] = packed[j] & 63;
    mins[j] = packed[j + 4] & 63;
  }
  for (int j = 4; j < 8; ++j) {
    scales[j] = static_cast<int16_t>((packed[j + 4] & 0xF) | (packed[j - 4] >> 6) << 4);
    mins[j] = static_cast<int16_t>((packed[j + 4] >> 4) | (packed[j] >> 6) << 4);
  }
}

// Scale j: low nibble in byte j (j < 8) or the high nibble of byte j - 8; top two bits in
// bits 2*(j/4) of byte 8 + j%4.
void pack_q3_scales(const int16_t* scales, uint8_t* packed) {
  std::fill(packed, packed + 12, uint8_t{0});
  for (int j = 0; j < 16; ++j) {
    const int l = scales[j] + 32;
    packed[j % 8] |= static_cast<uint8_t>((l & 0xF) << (4 * (j / 8)));
    packed[8 + j % 4] |= static_cast<uint8_t>(((l >> 4) & 3) << (2 * (j / 4)));
  }
}

void unpack_q3_scales(const uint8_t* packed, int16_t* scales) {
  for (int j = 0; j < 16; ++j) {
    const int low = (packed[j % 8] >> (4 * (j / 8))) & 0xF;
    const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
    scales[j] = static_cast<int16_t>((low | high << 4) - 32);
  }
}

void dequantize(const SuperBlock& s, const Format& f, float* y) {
  const float d = fp16_to_fp32(s.d);
  const float dmin = fp16_to_fp32(s.dmin);
  const uint8_t* level = s.level;
  for (int j = 0; j < f.sub_blocks(); ++j, y += f.sub_block, level += f.sub_block) {
    const float dl = d * static_cast<float>(s.scale[j]);
    if (f.affine()) {
      const float ml = dmin * static_cast<float>(s.min[j]);
      for (int i = 0; i < f.sub_block; ++i) y[i] = dl * static_cast<float>(level[i]) - ml;
    } else {
      for (int i = 0; i < f.sub_block; ++i) y[i] = dl * static_cast<float>(level[i] - f.bias);
    }
  }
}

IntegerDot integer_dot(const SuperBlock& s, const Format& f, const BlockQ8K& y) {
  IntegerDot sums;
  const int bsums_per_sub_block = f.sub_block / 16;
  for (int j = 0; j < f.sub_blocks(); ++j) {
    int32_t part = 0;
    for (int i = 0; i < f.sub_block; ++i) {
      const int e = j * f.sub_block + i;
      part += (s.level[e] - f.bias) * y.qs[e];
    }
    sums.isum += s.scale[j] * part;
    if (!f.affine()) continue;
    int32_t q8_sum = 0;
    for (int k = 0; k < bsums_per_sub_block; ++k) q8_sum += y.bsums[j * bsums_per_sub_block + k];
    sums.msum += s.min[j] * q8_sum;
  }
  return sums;
}

void requantize(const float* x, const Format& f, SuperBlock& s) {
  const float d = fp16_to_fp32(s.d);
  const float dmin = fp16_to_fp32(s.dmin);
  const int lo = -f.bias, hi = f.max_level - f.bias;
  for (int j = 0; j < f.sub_blocks(); ++j) {
    const float dl = d * static_cast<float>(s.scale[j]);
    if (dl == 0) continue;
    const float* xj = x + j * f.sub_block;
    uint8_t* level = s.level + j * f.sub_block;
    if (f.affine()) {
      const float ml = dmin * static_cast<float>(s.min[j]);
      for (int i = 0; i < f.sub_block; ++i)
        level[i] =
            static_cast<uint8_t>(std::clamp(scale_fit::nearest_int((xj[i] + ml) / dl), lo, hi));
    } else {
      for (int i = 0; i < f.sub_block; ++i)
        level[i] =
            static_cast<uint8_t>(std::clamp(scale_fit::nearest_int(xj[i] / dl), lo, hi) + f.bias);
    }
  }
}

float dot_rows(const void* weights, const void* activations, int64_t n,
               float (*block)(const void* weights, int64_t b, const BlockQ8K& y)) {
  const auto* y = static_cast<const BlockQ8K*>(activations);
  return sum_block_contributions(n / kQKK, [&](int64_t b) { return block(weights, b, y[b]); });
}

}  // namespace qmix::kquant
