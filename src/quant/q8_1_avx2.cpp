// q8_1 with AVX2: activation quantization and dequantization (same results as scalar).
#include "quant/kernels.h"
#include "quant/legacy_avx2.h"

namespace qmix::kernels {
namespace {

using layout::BlockQ8_1;
using legacy::kQK;

void quantize_row(const float* src, void* dst, int64_t n, const float* /*imatrix*/) {
  BlockQ8_1* y = static_cast<BlockQ8_1*>(dst);
  for (int64_t ib = 0; ib < n / kQK; ++ib) {
    int32_t sum = 0;
    const float d = legacy_avx2::quantize_block_q8(src + ib * kQK, y[ib].qs, &sum);
    y[ib].d = fp32_to_fp16(d);
    y[ib].s = fp32_to_fp16(static_cast<float>(sum) * d);
  }
}

legacy_avx2::Decoded decode(const BlockQ8_1& b) {
  return {simd::load32(b.qs), simd::half_to_float(b.d)};
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  legacy_avx2::dequantize_row<BlockQ8_1>(src, dst, n, decode);
}

}  // namespace

QuantKernels q8_1_avx2() { return {.quantize = quantize_row, .dequantize = dequantize_row}; }

}  // namespace qmix::kernels
