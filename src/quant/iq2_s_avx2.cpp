// IQ2_S dot product with AVX2 (same result as the scalar kernel).
#include <cstring>

#include "quant/iq2_avx2.h"
#include "quant/iq2_blocks.h"
#include "quant/iq2_grids.h"
#include "quant/iq2_rows.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using namespace qmix::iq2;

uint64_t grid_of(const BlockIq2s& x, int ib, int l) {
  return iq2s_grid[static_cast<size_t>(x.qs[4 * ib + l] | ((x.qh[ib] << (8 - 2 * l)) & 0x300))];
}

float dot(const void* weights, const void* activations, int64_t n) {
  const auto* x = static_cast<const BlockIq2s*>(weights);
  const auto* y = static_cast<const BlockQ8K*>(activations);
  float sumf = 0;
  for (int64_t b = 0; b < n / kBlock; ++b) {
    __m256i acc = _mm256_setzero_si256();
    for (int ib = 0; ib < 8; ++ib) {
      const __m256i grid = avx2::grid4(grid_of(x[b], ib, 0), grid_of(x[b], ib, 1),
                                       grid_of(x[b], ib, 2), grid_of(x[b], ib, 3));
      uint32_t signs;
      std::memcpy(&signs, x[b].qs + kBlock / 8 + 4 * ib, sizeof signs);
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

QuantKernels iq2_s_avx2() {
  QuantKernels k = iq2_s_lane_quantizers();
  k.dot = dot;
  return k;
}

}  // namespace qmix::kernels
