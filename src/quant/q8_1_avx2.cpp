// q8_1: no AVX2 kernels yet; the scalar ones are used.
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels q8_1_avx2() { return {}; }
}  // namespace qmix::kernels
