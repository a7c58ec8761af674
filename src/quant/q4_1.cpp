// q4_1: 32 values per block, x = d * q + m with 4-bit q; dot partner q8_1.
// The algorithms live in legacy_common.h, shared with the other 32-value formats.
#include "quant/kernels.h"
#include "quant/legacy_common.h"

namespace qmix::kernels {

QuantKernels q4_1_scalar() {
  using Block = layout::BlockQ4_1;
  QuantKernels k;
  k.quantize = legacy::quantize_row_reference<Block>;
  k.dequantize = legacy::dequantize_row<Block>;
  k.dot = legacy::dot_affine<Block>;
  return k;
}

}  // namespace qmix::kernels
