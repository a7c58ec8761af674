// iq3_xxs: no AVX2 kernels yet; the scalar ones are used.
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels iq3_xxs_avx2() { return {}; }
}  // namespace qmix::kernels
