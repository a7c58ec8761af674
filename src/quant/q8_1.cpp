// q8_1: not implemented yet (stub kernels).
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels q8_1_scalar() { return {}; }
}  // namespace qmix::kernels
