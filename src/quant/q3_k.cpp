// q3_k: not implemented yet (stub kernels).
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels q3_k_scalar() { return {}; }
}  // namespace qmix::kernels
