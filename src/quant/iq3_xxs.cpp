// iq3_xxs: not implemented yet (stub kernels).
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels iq3_xxs_scalar() { return {}; }
}  // namespace qmix::kernels
