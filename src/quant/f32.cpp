// f32: not implemented yet (stub kernels).
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels f32_scalar() { return {}; }
}  // namespace qmix::kernels
