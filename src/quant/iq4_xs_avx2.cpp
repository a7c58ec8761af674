// iq4_xs with AVX2: dot with q8_K and dequantization (same results as scalar).
#include "quant/avx2_common.h"
#include "quant/block_sum.h"
#include "quant/iq4_common.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using layout::BlockIQ4XS;
using layout::BlockQ8K;
using layout::kQK;
using layout::kQKK;
constexpr int kSubBlocks = kQKK / kQK;

__m256i values(const BlockIQ4XS& b, int ib) {
  return simd::lookup16(simd::unpack_nibbles(b.qs + ib * kQK / 2), layout::kIq4nlValues);
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockIQ4XS*>(src);
  for (int64_t ibl = 0; ibl < n / kQKK; ++ibl) {
    const float d = simd::half_to_float(x[ibl].d);
    for (int ib = 0; ib < kSubBlocks; ++ib, dst += kQK)
      simd::store_scaled(values(x[ibl], ib),
                         d * static_cast<float>(iq4::sub_block_scale(x[ibl], ib)), dst);
  }
}

float dot(const void* weights, const void* activations, int64_t n) {
  const auto* x = static_cast<const BlockIQ4XS*>(weights);
  const auto* y = static_cast<const BlockQ8K*>(activations);
  return sum_block_contributions(n / kQKK, [&](int64_t b) {
    __m256i acc = _mm256_setzero_si256();
    for (int ib = 0; ib < kSubBlocks; ++ib) {
      const __m256i sums = simd::dot_i8(values(x[b], ib), simd::load32(y[b].qs + ib * kQK));
      acc = _mm256_add_epi32(
          acc, _mm256_mullo_epi32(sums, _mm256_set1_epi32(iq4::sub_block_scale(x[b], ib))));
    }
    return static_cast<float>(simd::hsum_i32(acc)) * (simd::half_to_float(x[b].d) * y[b].d);
  });
}

}  // namespace

QuantKernels iq4_xs_avx2() { return {.dequantize = dequantize_row, .dot = dot}; }

}  // namespace qmix::kernels
