// bf16: bfloat16 (round to nearest even, NaN kept quiet); dot partner f32.
// The scalar dot accumulates in double, as ggml's does.
#include "core/fp16.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

void quantize_row(const float* src, void* dst, int64_t n, const float* /*imatrix*/) {
  bf16_t* y = static_cast<bf16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) y[i] = fp32_to_bf16(src[i]);
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  const bf16_t* x = static_cast<const bf16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(x[i]);
}

float dot(const void* weights, const void* activations, int64_t n) {
  const bf16_t* x = static_cast<const bf16_t*>(weights);
  const float* y = static_cast<const float*>(activations);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(bf16_to_fp32(x[i]) * y[i]);
  return static_cast<float>(sum);
}

}  // namespace

QuantKernels bf16_scalar() {
  QuantKernels k;
  k.quantize = quantize_row;
  k.dequantize = dequantize_row;
  k.dot = dot;
  return k;
}

}  // namespace qmix::kernels
