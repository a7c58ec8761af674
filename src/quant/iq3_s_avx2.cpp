// IQ3_S dot product with AVX2 (same result as the scalar kernel).
#include <cstring>

#include "quant/iq2_avx2.h"
#include "quant/iq2_blocks.h"
#include "quant/iq2_rows.h"
#include "quant/iq3_grids.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using namespace qmix::iq2;
using iq3::iq3s_grid;

// The eight grid entries of sub-block ib as 32 bytes, group 0 lowest.
__m256i grid8(const BlockIq3s& x, int ib) {
  int32_t g[8];
  for (int k = 0; k < 8; ++k)
    g[k] = static_cast<int32_t>(
        iq3s_grid[static_cast<size_t>(x.qs[8 * ib + k] | (((x.qh[ib] >> k) & 1) << 8))]);
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(g));
}

float dot(const void* weights, const void* activations, int64_t n) {
  const auto* x = static_cast<const BlockIq3s*>(weights);
  const auto* y = static_cast<const BlockQ8K*>(activations);
  float sumf = 0;
  for (int64_t b = 0; b < n / kBlock; ++b) {
    __m256i acc = _mm256_setzero_si256();
    for (int ib = 0; ib < 8; ++ib) {
      uint32_t signs;
      std::memcpy(&signs, x[b].signs + 4 * ib, sizeof signs);
      const __m256i q8 = _mm256_sign_epi8(avx2::load32(y[b].qs + 32 * ib), avx2::signs_pm1(signs));
      const auto ls = static_cast<int16_t>(2 * ((x[b].scales[ib / 2] >> (4 * (ib % 2))) & 15) + 1);
      acc = _mm256_add_epi32(
          acc, _mm256_madd_epi16(_mm256_maddubs_epi16(grid8(x[b], ib), q8), _mm256_set1_epi16(ls)));
    }
    sumf = accumulate_block(sumf, fp16_to_fp32(x[b].d), y[b].d,
                            static_cast<float>(avx2::hsum_i32(acc)));
  }
  return sumf;
}

}  // namespace

QuantKernels iq3_s_avx2() {
  QuantKernels k = iq3_s_lane_quantizers();
  k.dot = dot;
  return k;
}

}  // namespace qmix::kernels
