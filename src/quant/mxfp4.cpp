// mxfp4: 32 values per block, x = 2^(e-127) * v with v an E2M1 (4-bit float) value and e a
// shared E8M0 exponent; dot partner q8_0. ggml ignores imatrix data here.
#include <cmath>

#include "quant/kernels.h"
#include "quant/legacy_common.h"

namespace qmix::kernels {
namespace {

using layout::BlockMXFP4;
using layout::kMxfp4Values;
using legacy::kQK;

// Index of the codebook entry nearest to x at scale d (first of equals, as ggml).
uint8_t nearest_code(float x, float d) {
  uint8_t best = 0;
  float best_err = std::fabs(static_cast<float>(kMxfp4Values[0]) * d - x);
  for (uint8_t i = 1; i < 16; ++i) {
    const float err = std::fabs(static_cast<float>(kMxfp4Values[i]) * d - x);
    if (err < best_err) {
      best = i;
      best_err = err;
    }
  }
  return best;
}

void encode_block(const float* x, uint8_t e, BlockMXFP4& y) {
  const float d = layout::e8m0_to_fp32_half(e);
  y.e = e;
  uint8_t codes[kQK];
  for (int j = 0; j < kQK; ++j) codes[j] = nearest_code(x[j], d);
  legacy::pack_nibbles(codes, y.qs);
}

// ggml's exponent: e = floor(log2(amax)) - 2 + 127, so the block maximum lands in [8, 16)
// units of the doubled codebook (largest entry 12: magnitudes above 1.5 * 2^floor clip).
// The uint8 wrap for tiny amax matches the conversion ggml's x86 build performs.
uint8_t reference_exponent(const float* x) {
  float amax = 0;
  for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
  if (!(amax > 0)) return 0;
  return static_cast<uint8_t>(static_cast<int>(std::floor(std::log2(amax))) + 125);
}

void quantize_row_reference(const float* src, void* dst, int64_t n, const float* /*imatrix*/) {
  BlockMXFP4* y = static_cast<BlockMXFP4*>(dst);
  for (int64_t ib = 0; ib < n / kQK; ++ib) {
    const float* x = src + ib * kQK;
    encode_block(x, reference_exponent(x), y[ib]);
  }
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  const BlockMXFP4* x = static_cast<const BlockMXFP4*>(src);
  uint8_t codes[kQK];
  for (int64_t ib = 0; ib < n / kQK; ++ib, dst += kQK) {
    const float d = layout::e8m0_to_fp32_half(x[ib].e);
    legacy::unpack_nibbles(x[ib].qs, codes);
    for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(kMxfp4Values[codes[j]]) * d;
  }
}

float decode(const BlockMXFP4& b, int8_t* values) {
  uint8_t codes[kQK];
  legacy::unpack_nibbles(b.qs, codes);
  for (int j = 0; j < kQK; ++j) values[j] = kMxfp4Values[codes[j]];
  return layout::e8m0_to_fp32_half(b.e);
}

float dot(const void* weights, const void* activations, int64_t n) {
  return legacy::dot_with_q8_0<BlockMXFP4>(weights, activations, n, decode);
}

}  // namespace

QuantKernels mxfp4_scalar() {
  QuantKernels k;
  k.quantize = quantize_row_reference;
  k.dequantize = dequantize_row;
  k.dot = dot;
  return k;
}

}  // namespace qmix::kernels
