// The scalar kernels of the 16-bit float formats (f16, bf16): one element per value, converted
// with the format's codec; dot partner f32. The dot accumulates in double, as ggml's does.
#pragma once

#include <cstdint>

#include "quant/kernels.h"

namespace qmix::kernels {

// Codec: `using Storage`, `static Storage encode(float)`, `static float decode(Storage)`.
template <typename Codec>
struct HalfFloatScalar {
  using Storage = typename Codec::Storage;

  static void quantize_row(const float* src, void* dst, int64_t n, const float* /*imatrix*/) {
    Storage* y = static_cast<Storage*>(dst);
    for (int64_t i = 0; i < n; ++i) y[i] = Codec::encode(src[i]);
  }

  static void dequantize_row(const void* src, float* dst, int64_t n) {
    const Storage* x = static_cast<const Storage*>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = Codec::decode(x[i]);
  }

  static float dot(const void* weights, const void* activations, int64_t n) {
    const Storage* x = static_cast<const Storage*>(weights);
    const float* y = static_cast<const float*>(activations);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(Codec::decode(x[i]) * y[i]);
    return static_cast<float>(sum);
  }

  static QuantKernels kernels() {
    QuantKernels k;
    k.quantize = quantize_row;
    k.dequantize = dequantize_row;
    k.dot = dot;
    return k;
  }
};

}  // namespace qmix::kernels
