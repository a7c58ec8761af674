// mxfp4: no AVX2 kernels yet; the scalar ones are used.
#include "quant/kernels.h"

namespace qmix::kernels {
QuantKernels mxfp4_avx2() { return {}; }
}  // namespace qmix::kernels
