// q6_k: not implemented yet (stub kernels).
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels q6_k_scalar() { return {}; }
}  // namespace qmix::kernels
