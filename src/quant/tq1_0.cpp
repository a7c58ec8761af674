// tq1_0: not implemented yet (stub kernels).
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels tq1_0_scalar() { return {}; }
}  // namespace qmix::kernels
