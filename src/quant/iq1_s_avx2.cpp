// IQ1_S dot product with AVX2 (same result as the scalar kernel).
#include "quant/iq2_avx2.h"
#include "quant/iq2_blocks.h"
#include "quant/iq2_grids.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using namespace qmix::iq2;

uint64_t grid_of(const BlockIq1s& x, int ib, int l) {
  return iq1s_grid[static_cast<size_t>(x.qs[4 * ib + l] | (((x.qh[ib] >> (3 * l)) & 7) << 8))];
}

float dot(const void* weights, const void* activations, int64_t n) {
  const auto* x = static_cast<const BlockIq1s*>(weights);
  const auto* y = static_cast<const BlockQ8K*>(activations);
  float sumf = 0;
  for (int64_t b = 0; b < n / kBlock; ++b) {
    __m256i acc = _mm256_setzero_si256();
    int32_t shift_sum = 0;  // the ±1/8 shifts act on plain sums of the activations
    for (int ib = 0; ib < 8; ++ib) {
      const int ls = 2 * ((x[b].qh[ib] >> 12) & 7) + 1;
      const __m256i grid = avx2::grid4(grid_of(x[b], ib, 0), grid_of(x[b], ib, 1),
                                       grid_of(x[b], ib, 2), grid_of(x[b], ib, 3));
      // The grid holds -1/0/+1, so sign_epi8 multiplies.
      const __m256i prod = _mm256_sign_epi8(avx2::load32(y[b].qs + 32 * ib), grid);
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(avx2::pair_sums(prod),
                                                    _mm256_set1_epi16(static_cast<int16_t>(ls))));
      const int delta = x[b].qh[ib] & 0x8000 ? -1 : 1;
      shift_sum += ls * delta * (y[b].bsums[2 * ib] + y[b].bsums[2 * ib + 1]);
    }
    sumf = accumulate_block(sumf, fp16_to_fp32(x[b].d), y[b].d,
                            iq1_block_sum(avx2::hsum_i32(acc), shift_sum));
  }
  return sumf;
}

}  // namespace

QuantKernels iq1_s_avx2() { return {.dot = dot}; }

}  // namespace qmix::kernels
