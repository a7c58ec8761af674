// IQ1_M dot product with AVX2 (same result as the scalar kernel).
#include "quant/iq2_avx2.h"
#include "quant/iq2_blocks.h"
#include "quant/iq2_grids.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using namespace qmix::iq2;

float dot(const void* weights, const void* activations, int64_t n) {
  const auto* x = static_cast<const BlockIq1m*>(weights);
  const auto* y = static_cast<const BlockQ8K*>(activations);
  float sumf = 0;
  for (int64_t b = 0; b < n / kBlock; ++b) {
    __m256i grid_acc = _mm256_setzero_si256();
    __m256i shift_acc = _mm256_setzero_si256();
    for (int ib = 0; ib < 8; ++ib) {
      const uint8_t* qs = x[b].qs + 4 * ib;
      const uint8_t* qh = x[b].qh + 2 * ib;
      uint64_t g[4];
      uint32_t negative_groups = 0;  // byte l = 0xff when group l has the -1/8 shift
      for (int l = 0; l < 4; ++l) {
        const uint8_t h = qh[l / 2];
        g[l] = iq1s_grid[static_cast<size_t>(qs[l] | ((h << (8 - 4 * (l % 2))) & 0x700))];
        if (h & (l % 2 == 0 ? 0x08 : 0x80)) negative_groups |= 0xffu << (8 * l);
      }
      const int sc = x[b].scales[2 * (ib / 2)] | (x[b].scales[2 * (ib / 2) + 1] << 8);
      const __m256i ls = avx2::scales16(2 * ((sc >> (6 * (ib % 2))) & 7) + 1,
                                        2 * ((sc >> (6 * (ib % 2) + 3)) & 7) + 1);
      const __m256i q8 = avx2::load32(y[b].qs + 32 * ib);
      const __m256i on_grid = _mm256_sign_epi8(q8, avx2::grid4(g[0], g[1], g[2], g[3]));
      const __m256i shifted = _mm256_sign_epi8(q8, avx2::signs_pm1(negative_groups));
      grid_acc = _mm256_add_epi32(grid_acc, _mm256_madd_epi16(avx2::pair_sums(on_grid), ls));
      shift_acc = _mm256_add_epi32(shift_acc, _mm256_madd_epi16(avx2::pair_sums(shifted), ls));
    }
    sumf = accumulate_block(sumf, fp16_to_fp32(iq1m_super_scale(x[b])), y[b].d,
                            iq1_block_sum(avx2::hsum_i32(grid_acc), avx2::hsum_i32(shift_acc)));
  }
  return sumf;
}

}  // namespace

QuantKernels iq1_m_avx2() { return {.dot = dot}; }

}  // namespace qmix::kernels
