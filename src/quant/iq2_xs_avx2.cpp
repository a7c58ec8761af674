// IQ2_XS dot product with AVX2 (same result as the scalar kernel).
#include "quant/iq2_avx2.h"
#include "quant/iq2_blocks.h"
#include "quant/iq2_grids.h"
#include "quant/iq2_rows.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using namespace qmix::iq2;

float dot(const void* weights, const void* activations, int64_t n) {
  const auto* x = static_cast<const BlockIq2xs*>(weights);
  const auto* y = static_cast<const BlockQ8K*>(activations);
  float sumf = 0;
  for (int64_t b = 0; b < n / kBlock; ++b) {
    __m256i acc = _mm256_setzero_si256();
    for (int ib = 0; ib < 8; ++ib) {
      const uint16_t* q = x[b].qs + 4 * ib;
      const __m256i grid = avx2::grid4(iq2xs_grid[q[0] & 511], iq2xs_grid[q[1] & 511],
                                       iq2xs_grid[q[2] & 511], iq2xs_grid[q[3] & 511]);
      uint32_t signs = 0;
      for (int l = 0; l < 4; ++l)
        signs |= static_cast<uint32_t>(ksigns_iq2xs[q[l] >> 9]) << (8 * l);
      const __m256i q8 = _mm256_sign_epi8(avx2::load32(y[b].qs + 32 * ib), avx2::signs_pm1(signs));
      const __m256i ls =
          avx2::scales16(2 * (x[b].scales[ib] & 0xf) + 1, 2 * (x[b].scales[ib] >> 4) + 1);
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(grid, q8), ls));
    }
    sumf = accumulate_block(sumf, fp16_to_fp32(x[b].d), y[b].d,
                            static_cast<float>(avx2::hsum_i32(acc)));
  }
  return 0.125f * sumf;
}

}  // namespace

QuantKernels iq2_xs_avx2() {
  QuantKernels k = iq2_xs_lane_quantizers();
  k.dot = dot;
  return k;
}

}  // namespace qmix::kernels
