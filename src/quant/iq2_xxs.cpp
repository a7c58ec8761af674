// iq2_xxs: not implemented yet (stub kernels).
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels iq2_xxs_scalar() { return {}; }
}  // namespace qmix::kernels
