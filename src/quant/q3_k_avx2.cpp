// q3_K: AVX2 dot product and dequantization (same results as the scalar kernels).
#include "quant/k_quants_avx2.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using namespace kquant;

struct Q3K {
  using Block = BlockQ3K;
  static constexpr Format format = kFormatQ3K;

  // Values 32c..32c+31: two bits from the 2-bit planes, the third from bit c of hmask.
  static __m256i levels(const Block& b, int c) {
    const __m256i low = avx2::field(avx2::load(b.qs + 32 * (c / 4)), 2 * (c % 4), 3);
    return _mm256_or_si256(low, avx2::bit_to(avx2::load(b.hmask), 1 << c, 4));
  }
  static void scales(const Block& b, SuperBlock& s) {
    s.d = b.d;
    s.dmin = 0;
    unpack_q3_scales(b.scales, s.scale);
  }
};

}  // namespace

QuantKernels q3_k_avx2() {
  return {.dequantize = avx2::dequantize_row<Q3K>, .dot = avx2::dot_row<Q3K>};
}

}  // namespace qmix::kernels
