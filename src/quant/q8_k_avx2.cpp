// q8_k: no AVX2 kernels yet; the scalar ones are used.
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels q8_k_avx2() { return {}; }
}  // namespace qmix::kernels
