// tq2_0: ternary values, 2 bits each: byte j + m of each 32-byte group holds the values
// 128*g + m + 32*k (k = 0..3, bits 2k..2k+1) of group g. ggml ignores imatrix data here.
#include "quant/kernels.h"
#include "quant/ternary_common.h"

namespace qmix::kernels {
namespace {

using layout::BlockTQ2_0;
using ternary::kQKK;

void quantize_row_reference(const float* src, void* dst, int64_t n, const float* /*imatrix*/) {
  BlockTQ2_0* y = static_cast<BlockTQ2_0*>(dst);
  for (int64_t ib = 0; ib < n / kQKK; ++ib) {
    const float* x = src + ib * kQKK;
    float id = 0;
    y[ib].d = fp32_to_fp16(ternary::block_scale(x, &id));
    for (int g = 0; g < 2; ++g) {
      for (int m = 0; m < 32; ++m) {
        int q = 0;
        for (int k = 0; k < 4; ++k)
          q |= (ternary::trit(x[128 * g + 32 * k + m], id) & 3) << (2 * k);
        y[ib].qs[32 * g + m] = static_cast<uint8_t>(q);
      }
    }
  }
}

// Values q - 1 in element order (q = 3, never written by the quantizer, decodes to 2).
void decode(const BlockTQ2_0& b, int8_t* values) {
  for (int g = 0; g < 2; ++g)
    for (int k = 0; k < 4; ++k)
      for (int m = 0; m < 32; ++m)
        values[128 * g + 32 * k + m] = static_cast<int8_t>(((b.qs[32 * g + m] >> (2 * k)) & 3) - 1);
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  ternary::dequantize_row<BlockTQ2_0>(src, dst, n, decode);
}

float dot(const void* weights, const void* activations, int64_t n) {
  return ternary::dot_with_q8_k<BlockTQ2_0>(weights, activations, n, decode);
}

}  // namespace

QuantKernels tq2_0_scalar() {
  QuantKernels k;
  k.quantize = quantize_row_reference;
  k.dequantize = dequantize_row;
  k.dot = dot;
  return k;
}

}  // namespace qmix::kernels
