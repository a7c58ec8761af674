// q2_k: not implemented yet (stub kernels).
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels q2_k_scalar() { return {}; }
}  // namespace qmix::kernels
