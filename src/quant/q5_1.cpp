// q5_1: not implemented yet (stub kernels).
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels q5_1_scalar() { return {}; }
}  // namespace qmix::kernels
