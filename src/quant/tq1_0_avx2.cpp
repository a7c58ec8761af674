// tq1_0: no AVX2 kernels yet; the scalar ones are used.
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels tq1_0_avx2() { return {}; }
}  // namespace qmix::kernels
