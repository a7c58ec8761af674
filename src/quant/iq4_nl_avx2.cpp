// iq4_nl: no AVX2 kernels yet; the scalar ones are used.
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels iq4_nl_avx2() { return {}; }
}  // namespace qmix::kernels
