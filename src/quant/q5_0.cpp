// q5_0: not implemented yet (stub kernels).
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels q5_0_scalar() { return {}; }
}  // namespace qmix::kernels
