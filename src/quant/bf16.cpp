// bf16: bfloat16 (round to nearest even, NaN kept quiet); dot partner f32.
#include "core/fp16.h"
#include "quant/half_float_scalar.h"

namespace qmix::kernels {
namespace {

struct Bf16Codec {
  using Storage = bf16_t;
  static Storage encode(float v) { return fp32_to_bf16(v); }
  static float decode(Storage v) { return bf16_to_fp32(v); }
};

}  // namespace

QuantKernels bf16_scalar() { return HalfFloatScalar<Bf16Codec>::kernels(); }

}  // namespace qmix::kernels
