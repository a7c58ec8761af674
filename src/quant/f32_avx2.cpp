// f32 with AVX2: dot with f32 (double accumulation like the scalar kernel).
#include "quant/float_avx2.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

float dot(const void* weights, const void* activations, int64_t n) {
  return float_avx2::dot<float>(
      weights, activations, n, [](const float* x, int64_t i) { return _mm256_loadu_ps(x + i); },
      [](const float* x, int64_t i) { return x[i]; });
}

}  // namespace

QuantKernels f32_avx2() { return {.dot = dot}; }

}  // namespace qmix::kernels
