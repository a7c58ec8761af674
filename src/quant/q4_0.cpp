// q4_0: 32 values per block, x = d * (q - 8) with 4-bit q; dot partner q8_0.
// The algorithms live in legacy_common.h, shared with the other 32-value formats.
#include "quant/kernels.h"
#include "quant/legacy_common.h"

namespace qmix::kernels {

QuantKernels q4_0_scalar() {
  using Block = layout::BlockQ4_0;
  QuantKernels k;
  k.quantize = legacy::quantize_row_reference<Block>;
  k.dequantize = legacy::dequantize_row<Block>;
  k.dot = legacy::dot_symmetric<Block>;
  return k;
}

}  // namespace qmix::kernels
