// q5_K: AVX2 dot product and dequantization (same results as the scalar kernels).
#include "quant/k_quants_avx2.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using namespace kquant;

struct Q5K {
  using Block = BlockQ5K;
  static constexpr Format format = kFormatQ5K;

  // Values 32c..32c+31: a nibble of qs, the fifth bit from bit c of qh.
  static __m256i levels(const Block& b, int c) {
    const __m256i low = avx2::field(avx2::load(b.qs + 32 * (c / 2)), 4 * (c % 2), 0xF);
    return _mm256_or_si256(low, avx2::bit_to(avx2::load(b.qh), 1 << c, 16));
  }
  static void scales(const Block& b, BlockScales& s) {
    s.d = b.d;
    s.dmin = b.dmin;
    avx2::unpack_scales_mins_fast(b.scales, s);
  }
};

}  // namespace

QuantKernels q5_k_avx2() {
  return {.dequantize = avx2::dequantize_row<Q5K>, .dot = avx2::dot_row<Q5K>};
}

}  // namespace qmix::kernels
