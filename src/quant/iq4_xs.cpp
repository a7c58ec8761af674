// iq4_xs: 256 values per super-block: eight 32-value sub-blocks with 6-bit scales under one
// half-precision scale, values from the iq4_nl codebook; dot partner q8_K.
#include <algorithm>
#include <cmath>

#include "quant/iq4_common.h"
#include "quant/kernels.h"
#include "quant/legacy_common.h"

namespace qmix::kernels {
namespace {

using layout::BlockIQ4XS;
using layout::BlockQ8K;
using layout::kIq4nlValues;
using layout::kQK;
using layout::kQKK;
constexpr int kSubBlocks = kQKK / kQK;

using iq4::sub_block_scale;

// Fits the eight sub-block scales, then quantizes them against d = -max_scale / 32 and
// re-picks every value's codebook entry at its sub-block's final scale (ggml's order).
void quantize_super_block(const float* x, const float* qw, BlockIQ4XS& y) {
  const float sigma2 = iq4::super_block_sigma2(x, kQKK);
  float scales[kSubBlocks];
  float w[kQK];
  uint8_t levels[kQK];
  float max_scale = 0, amax_scale = 0;
  for (int ib = 0; ib < kSubBlocks; ++ib) {
    iq4::block_weights(x + ib * kQK, qw != nullptr ? qw + ib * kQK : nullptr, sigma2, kQK, w);
    scales[ib] = iq4::fit_block(x + ib * kQK, w);
    if (std::fabs(scales[ib]) > amax_scale) {
      amax_scale = std::fabs(scales[ib]);
      max_scale = scales[ib];
    }
  }
  const float d = -max_scale / 32.f;
  const float id = d != 0 ? 1 / d : 0.f;
  y.d = fp32_to_fp16(d);
  y.scales_h = 0;
  for (int ib = 0; ib < kSubBlocks; ++ib) {
    const int l = std::clamp(scale_fit::nearest_int(id * scales[ib]), -32, 31);
    const float dl = d * static_cast<float>(l);
    iq4::levels_at(x + ib * kQK, kQK, dl != 0 ? 1 / dl : 0.f, levels);
    legacy::pack_nibbles(levels, y.qs + ib * kQK / 2);
    const int biased = l + 32;
    if (ib % 2 == 0)
      y.scales_l[ib / 2] = static_cast<uint8_t>(biased & 0xF);
    else
      y.scales_l[ib / 2] |= static_cast<uint8_t>((biased & 0xF) << 4);
    y.scales_h |= static_cast<uint16_t>((biased >> 4) << (2 * ib));
  }
}

void quantize_row_reference(const float* src, void* dst, int64_t n, const float* imatrix) {
  BlockIQ4XS* y = static_cast<BlockIQ4XS*>(dst);
  for (int64_t ibl = 0; ibl < n / kQKK; ++ibl)
    quantize_super_block(src + ibl * kQKK, imatrix != nullptr ? imatrix + ibl * kQKK : nullptr,
                         y[ibl]);
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  const BlockIQ4XS* x = static_cast<const BlockIQ4XS*>(src);
  uint8_t levels[kQK];
  for (int64_t ibl = 0; ibl < n / kQKK; ++ibl) {
    const float d = fp16_to_fp32(x[ibl].d);
    for (int ib = 0; ib < kSubBlocks; ++ib, dst += kQK) {
      const float dl = d * static_cast<float>(sub_block_scale(x[ibl], ib));
      legacy::unpack_nibbles(x[ibl].qs + ib * kQK / 2, levels);
      for (int j = 0; j < kQK; ++j) dst[j] = dl * static_cast<float>(kIq4nlValues[levels[j]]);
    }
  }
}

// Integer dot of one super-block with its Q8_K activations, sub-block scales applied.
int32_t super_block_dot(const BlockIQ4XS& x, const BlockQ8K& y) {
  int32_t total = 0;
  uint8_t levels[kQK];
  for (int ib = 0; ib < kSubBlocks; ++ib) {
    legacy::unpack_nibbles(x.qs + ib * kQK / 2, levels);
    int32_t sum = 0;
    for (int j = 0; j < kQK; ++j) sum += kIq4nlValues[levels[j]] * y.qs[ib * kQK + j];
    total += sub_block_scale(x, ib) * sum;
  }
  return total;
}

float dot(const void* weights, const void* activations, int64_t n) {
  const BlockIQ4XS* x = static_cast<const BlockIQ4XS*>(weights);
  const BlockQ8K* y = static_cast<const BlockQ8K*>(activations);
  return sum_block_contributions(n / kQKK, [&](int64_t b) {
    return static_cast<float>(super_block_dot(x[b], y[b])) * (fp16_to_fp32(x[b].d) * y[b].d);
  });
}

}  // namespace

QuantKernels iq4_xs_scalar() {
  QuantKernels k;
  k.quantize = quantize_row_reference;
  k.dequantize = dequantize_row;
  k.dot = dot;
  return k;
}

}  // namespace qmix::kernels
