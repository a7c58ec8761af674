// f32: plain floats; dot partner f32. The scalar dot accumulates in double, as ggml's does.
#include <cstring>

#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

void quantize_row(const float* src, void* dst, int64_t n, const float* /*imatrix*/) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

float dot(const void* weights, const void* activations, int64_t n) {
  const float* x = static_cast<const float*>(weights);
  const float* y = static_cast<const float*>(activations);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * y[i]);
  return static_cast<float>(sum);
}

}  // namespace

QuantKernels f32_scalar() {
  QuantKernels k;
  k.quantize = quantize_row;
  k.dequantize = dequantize_row;
  k.dot = dot;
  return k;
}

}  // namespace qmix::kernels
