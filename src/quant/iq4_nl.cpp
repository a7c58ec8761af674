// iq4_nl: 32 values per block, x = d * kIq4nlValues[q] with 4-bit q (a non-linear codebook);
// dot partner q8_0.
#include "quant/iq4_common.h"
#include "quant/kernels.h"
#include "quant/legacy_common.h"

namespace qmix::kernels {
namespace {

using layout::BlockIQ4NL;
using layout::kIq4nlValues;
using legacy::kQK;

// ggml's quantize_iq4_nl (what ggml_quantize_chunk runs, with or without imatrix).
void quantize_row_reference(const float* src, void* dst, int64_t n, const float* imatrix) {
  BlockIQ4NL* y = static_cast<BlockIQ4NL*>(dst);
  float w[kQK];
  uint8_t levels[kQK];
  for (int64_t ib = 0; ib < n / kQK; ++ib) {
    const float* x = src + ib * kQK;
    iq4::block_weights(x, imatrix != nullptr ? imatrix + ib * kQK : nullptr,
                       iq4::super_block_sigma2(x, kQK), kQK, w);
    const float d = iq4::fit_block(x, w);
    y[ib].d = fp32_to_fp16(d);
    iq4::levels_at(x, kQK, d != 0 ? 1 / d : 0, levels);
    legacy::pack_nibbles(levels, y[ib].qs);
  }
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  const BlockIQ4NL* x = static_cast<const BlockIQ4NL*>(src);
  uint8_t levels[kQK];
  for (int64_t ib = 0; ib < n / kQK; ++ib, dst += kQK) {
    const float d = fp16_to_fp32(x[ib].d);
    legacy::unpack_nibbles(x[ib].qs, levels);
    for (int j = 0; j < kQK; ++j) dst[j] = d * static_cast<float>(kIq4nlValues[levels[j]]);
  }
}

float decode(const BlockIQ4NL& b, int8_t* values) {
  uint8_t levels[kQK];
  legacy::unpack_nibbles(b.qs, levels);
  for (int j = 0; j < kQK; ++j) values[j] = kIq4nlValues[levels[j]];
  return fp16_to_fp32(b.d);
}

float dot(const void* weights, const void* activations, int64_t n) {
  return legacy::dot_with_q8_0<BlockIQ4NL>(weights, activations, n, decode);
}

}  // namespace

QuantKernels iq4_nl_scalar() {
  QuantKernels k;
  k.quantize = quantize_row_reference;
  k.dequantize = dequantize_row;
  k.dot = dot;
  return k;
}

}  // namespace qmix::kernels
