// iq1_s: not implemented yet (stub kernels).
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels iq1_s_scalar() { return {}; }
}  // namespace qmix::kernels
