// f32: no AVX2 kernels yet; the scalar ones are used.
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels f32_avx2() { return {}; }
}  // namespace qmix::kernels
