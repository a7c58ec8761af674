// iq1_m: not implemented yet (stub kernels).
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels iq1_m_scalar() { return {}; }
}  // namespace qmix::kernels
