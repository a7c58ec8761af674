// iq1_s: no AVX2 kernels yet; the scalar ones are used.
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels iq1_s_avx2() { return {}; }
}  // namespace qmix::kernels
