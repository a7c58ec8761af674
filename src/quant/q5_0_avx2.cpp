// q5_0: no AVX2 kernels yet; the scalar ones are used.
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels q5_0_avx2() { return {}; }
}  // namespace qmix::kernels
