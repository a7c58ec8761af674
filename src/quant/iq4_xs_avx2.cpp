// iq4_xs: no AVX2 kernels yet; the scalar ones are used.
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels iq4_xs_avx2() { return {}; }
}  // namespace qmix::kernels
