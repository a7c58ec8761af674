// iq4_nl with AVX2: dot with q8_0 and dequantization (same results as scalar).
#include "quant/kernels.h"
#include "quant/legacy_avx2.h"

namespace qmix::kernels {
namespace {

using layout::BlockIQ4NL;

legacy_avx2::Decoded decode(const BlockIQ4NL& b) {
  return {simd::lookup16(simd::unpack_nibbles(b.qs), layout::kIq4nlValues),
          simd::half_to_float(b.d)};
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  legacy_avx2::dequantize_row<BlockIQ4NL>(src, dst, n, decode);
}

float dot(const void* weights, const void* activations, int64_t n) {
  return legacy_avx2::dot_with_q8_0<BlockIQ4NL>(weights, activations, n, decode);
}

}  // namespace

QuantKernels iq4_nl_avx2() { return {.dequantize = dequantize_row, .dot = dot}; }

}  // namespace qmix::kernels
