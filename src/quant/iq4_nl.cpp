// iq4_nl: not implemented yet (stub kernels).
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels iq4_nl_scalar() { return {}; }
}  // namespace qmix::kernels
