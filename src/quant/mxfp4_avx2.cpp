// mxfp4 with AVX2: dot with q8_0 and dequantization (same results as scalar).
#include "quant/kernels.h"
#include "quant/legacy_avx2.h"

namespace qmix::kernels {
namespace {

using layout::BlockMXFP4;

legacy_avx2::Decoded decode(const BlockMXFP4& b) {
  return {simd::lookup16(simd::unpack_nibbles(b.qs), layout::kMxfp4Values),
          layout::e8m0_to_fp32_half(b.e)};
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  legacy_avx2::dequantize_row<BlockMXFP4>(src, dst, n, decode);
}

float dot(const void* weights, const void* activations, int64_t n) {
  return legacy_avx2::dot_with_q8_0<BlockMXFP4>(weights, activations, n, decode);
}

}  // namespace

QuantKernels mxfp4_avx2() { return {.dequantize = dequantize_row, .dot = dot}; }

}  // namespace qmix::kernels
