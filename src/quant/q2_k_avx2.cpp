// q2_k: no AVX2 kernels yet; the scalar ones are used.
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels q2_k_avx2() { return {}; }
}  // namespace qmix::kernels
