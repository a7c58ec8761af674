// q5_1 with AVX2: dot with q8_1 and dequantization (same results as scalar).
#include "quant/kernels.h"
#include "quant/legacy_avx2.h"

namespace qmix::kernels {

QuantKernels q5_1_avx2() {
  using Block = layout::BlockQ5_1;
  return {.dequantize = legacy_avx2::dequantize_affine<Block>,
          .dot = legacy_avx2::dot_affine<Block>};
}

}  // namespace qmix::kernels
