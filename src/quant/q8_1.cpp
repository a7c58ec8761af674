// q8_1: q8_0 plus s = d * sum(q), the activation format of the q4_1/q5_1 dot products.
// It has no dot product of its own.
#include "quant/kernels.h"
#include "quant/legacy_common.h"

namespace qmix::kernels {
namespace {

using layout::BlockQ8_1;
using legacy::kQK;

void quantize_row(const float* src, void* dst, int64_t n, const float* /*imatrix*/) {
  BlockQ8_1* y = static_cast<BlockQ8_1*>(dst);
  for (int64_t ib = 0; ib < n / kQK; ++ib) {
    const float d = legacy::quantize_block_q8(src + ib * kQK, y[ib].qs);
    int sum = 0;
    for (int j = 0; j < kQK; ++j) sum += y[ib].qs[j];
    y[ib].d = fp32_to_fp16(d);
    y[ib].s = fp32_to_fp16(static_cast<float>(sum) * d);
  }
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  const BlockQ8_1* x = static_cast<const BlockQ8_1*>(src);
  for (int64_t ib = 0; ib < n / kQK; ++ib, dst += kQK) {
    const float d = fp16_to_fp32(x[ib].d);
    for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(x[ib].qs[j]) * d;
  }
}

}  // namespace

QuantKernels q8_1_scalar() {
  QuantKernels k;
  k.quantize = quantize_row;
  k.dequantize = dequantize_row;
  return k;
}

}  // namespace qmix::kernels
