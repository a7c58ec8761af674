// q6_K: AVX2 dot product and dequantization (same results as the scalar kernels).
#include "quant/k_quants_avx2.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using namespace kquant;

struct Q6K {
  using Block = BlockQ6K;
  static constexpr Format format = kFormatQ6K;

  // Values 128g + 32k + l: nibble k/2 of ql[64g + 32(k%2) + l], bits 2k of qh[32g + l].
  static __m256i levels(const Block& b, int c) {
    const int g = c / 4, k = c % 4;
    const __m256i low = avx2::field(avx2::load(b.ql + 64 * g + 32 * (k % 2)), 4 * (k / 2), 0xF);
    const __m256i high = avx2::field(avx2::load(b.qh + 32 * g), 2 * k, 3);
    return _mm256_or_si256(low, _mm256_slli_epi16(high, 4));
  }
  static void scales(const Block& b, BlockScales& s) {
    s.d = b.d;
    s.dmin = 0;
    for (int j = 0; j < 16; ++j) s.scale[j] = b.scales[j];
  }
};

}  // namespace

QuantKernels q6_k_avx2() {
  return {.dequantize = avx2::dequantize_row<Q6K>, .dot = avx2::dot_row<Q6K>};
}

}  // namespace qmix::kernels
