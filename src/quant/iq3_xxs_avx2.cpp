// IQ3_XXS dot product with AVX2 (same result as the scalar kernel).
#include "quant/block_layouts.h"
#include "quant/iq2_avx2.h"
#include "quant/iq2_blocks.h"
#include "quant/iq2_grids.h"
#include "quant/iq2_rows.h"
#include "quant/iq3_grids.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using namespace qmix::iq2;
using iq3::iq3xxs_grid;

// Eight grid entries (4 bytes each) as 32 bytes, entry 0 lowest.
__m256i grid8(const uint8_t* index) {
  return _mm256_set_epi32(
      static_cast<int32_t>(iq3xxs_grid[index[7]]), static_cast<int32_t>(iq3xxs_grid[index[6]]),
      static_cast<int32_t>(iq3xxs_grid[index[5]]), static_cast<int32_t>(iq3xxs_grid[index[4]]),
      static_cast<int32_t>(iq3xxs_grid[index[3]]), static_cast<int32_t>(iq3xxs_grid[index[2]]),
      static_cast<int32_t>(iq3xxs_grid[index[1]]), static_cast<int32_t>(iq3xxs_grid[index[0]]));
}

float dot(const void* weights, const void* activations, int64_t n) {
  const auto* x = static_cast<const BlockIq3xxs*>(weights);
  const auto* y = static_cast<const BlockQ8K*>(activations);
  float sumf = 0;
  for (int64_t b = 0; b < n / kBlock; ++b) {
    __m256i acc = _mm256_setzero_si256();
    for (int ib = 0; ib < 8; ++ib) {
      const uint32_t word = layout::load_u32_le(x[b].qs + kBlock / 4 + 4 * ib);
      uint32_t signs = 0;
      for (int l = 0; l < 4; ++l)
        signs |= static_cast<uint32_t>(ksigns_iq2xs[(word >> (7 * l)) & 127]) << (8 * l);
      const __m256i q8 = _mm256_sign_epi8(avx2::load32(y[b].qs + 32 * ib), avx2::signs_pm1(signs));
      const auto ls = static_cast<int16_t>(2 * (word >> 28) + 1);
      acc =
          _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(grid8(x[b].qs + 8 * ib), q8),
                                                  _mm256_set1_epi16(ls)));
    }
    sumf = accumulate_block(sumf, fp16_to_fp32(x[b].d), y[b].d,
                            static_cast<float>(avx2::hsum_i32(acc)));
  }
  return 0.25f * sumf;
}

}  // namespace

QuantKernels iq3_xxs_avx2() {
  QuantKernels k = iq3_xxs_lane_quantizers();
  k.dot = dot;
  return k;
}

}  // namespace qmix::kernels
