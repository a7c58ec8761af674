// f16: IEEE half precision (round to nearest even); dot partner f32.
#include "core/fp16.h"
#include "quant/half_float_scalar.h"

namespace qmix::kernels {
namespace {

struct F16Codec {
  using Storage = fp16_t;
  static Storage encode(float v) { return fp32_to_fp16(v); }
  static float decode(Storage v) { return fp16_to_fp32(v); }
};

}  // namespace

QuantKernels f16_scalar() { return HalfFloatScalar<F16Codec>::kernels(); }

}  // namespace qmix::kernels
