// q8_0: 32 values per block, x = d * q with 8-bit q. Also the activation format of the
// q4_0/q5_0/iq4_nl/mxfp4 dot products (and of its own). ggml ignores imatrix data here.
#include "quant/kernels.h"
#include "quant/legacy_common.h"

namespace qmix::kernels {
namespace {

using layout::BlockQ8_0;
using legacy::kQK;

void quantize_row(const float* src, void* dst, int64_t n, const float* /*imatrix*/) {
  BlockQ8_0* y = static_cast<BlockQ8_0*>(dst);
  for (int64_t ib = 0; ib < n / kQK; ++ib)
    y[ib].d = fp32_to_fp16(legacy::quantize_block_q8(src + ib * kQK, y[ib].qs));
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  const BlockQ8_0* x = static_cast<const BlockQ8_0*>(src);
  for (int64_t ib = 0; ib < n / kQK; ++ib, dst += kQK) {
    const float d = fp16_to_fp32(x[ib].d);
    for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(x[ib].qs[j]) * d;
  }
}

float decode(const BlockQ8_0& b, int8_t* values) {
  std::copy(b.qs, b.qs + kQK, values);
  return fp16_to_fp32(b.d);
}

float dot(const void* weights, const void* activations, int64_t n) {
  return legacy::dot_with_q8_0<BlockQ8_0>(weights, activations, n, decode);
}

}  // namespace

QuantKernels q8_0_scalar() {
  QuantKernels k;
  k.quantize = quantize_row;
  k.dequantize = dequantize_row;
  k.dot = dot;
  return k;
}

}  // namespace qmix::kernels
