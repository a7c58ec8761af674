// q4_0 with AVX2: dot with q8_0 and dequantization (same results as scalar).
#include "quant/kernels.h"
#include "quant/legacy_avx2.h"

namespace qmix::kernels {
namespace {

using Block = layout::BlockQ4_0;

void dequantize_row(const void* src, float* dst, int64_t n) {
  legacy_avx2::dequantize_row<Block>(src, dst, n, legacy_avx2::decode_symmetric<Block>);
}

float dot(const void* weights, const void* activations, int64_t n) {
  return legacy_avx2::dot_with_q8_0<Block>(weights, activations, n,
                                           legacy_avx2::decode_symmetric<Block>);
}

}  // namespace

QuantKernels q4_0_avx2() { return {.dequantize = dequantize_row, .dot = dot}; }

}  // namespace qmix::kernels
