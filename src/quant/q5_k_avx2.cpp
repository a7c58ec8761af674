// q5_k: no AVX2 kernels yet; the scalar ones are used.
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels q5_k_avx2() { return {}; }
}  // namespace qmix::kernels
