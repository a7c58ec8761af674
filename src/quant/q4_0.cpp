// q4_0: not implemented yet (stub kernels).
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels q4_0_scalar() { return {}; }
}  // namespace qmix::kernels
