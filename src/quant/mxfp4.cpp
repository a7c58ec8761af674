// mxfp4: not implemented yet (stub kernels).
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels mxfp4_scalar() { return {}; }
}  // namespace qmix::kernels
