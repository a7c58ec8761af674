// f16: not implemented yet (stub kernels).
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels f16_scalar() { return {}; }
}  // namespace qmix::kernels
