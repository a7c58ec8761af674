// iq4_xs: not implemented yet (stub kernels).
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels iq4_xs_scalar() { return {}; }
}  // namespace qmix::kernels
