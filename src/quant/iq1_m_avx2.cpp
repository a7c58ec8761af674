// iq1_m: no AVX2 kernels yet; the scalar ones are used.
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels iq1_m_avx2() { return {}; }
}  // namespace qmix::kernels
