// iq2_xs: not implemented yet (stub kernels).
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels iq2_xs_scalar() { return {}; }
}  // namespace qmix::kernels
