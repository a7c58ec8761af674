// f16: no AVX2 kernels yet; the scalar ones are used.
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels f16_avx2() { return {}; }
}  // namespace qmix::kernels
