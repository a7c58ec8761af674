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
  // The sixteen 6-bit scales (see pack_q3_scales), four per 32-bit word, minus their bias.
  static void scales(const Block& b, BlockScales& s) {
    s.d = b.d;
    s.dmin = 0;
    const uint32_t a0 = avx2::word(b.scales, 0), a1 = avx2::word(b.scales, 1);
    const uint32_t high = avx2::word(b.scales, 2);
    constexpr uint32_t k4 = 0x0f0f0f0f, k2 = 0x03030303;
    __m128i v = _mm_setr_epi32(static_cast<int>((a0 & k4) | (high & k2) << 4),
                               static_cast<int>((a1 & k4) | ((high >> 2) & k2) << 4),
                               static_cast<int>(((a0 >> 4) & k4) | ((high >> 4) & k2) << 4),
                               static_cast<int>(((a1 >> 4) & k4) | ((high >> 6) & k2) << 4));
    v = _mm_sub_epi8(v, _mm_set1_epi8(32));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(s.scale), _mm_cvtepi8_epi16(v));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(s.scale + 8),
                     _mm_cvtepi8_epi16(_mm_srli_si128(v, 8)));
  }
};

}  // namespace

QuantKernels q3_k_avx2() {
  return {.dequantize = avx2::dequantize_row<Q3K>, .dot = avx2::dot_row<Q3K>};
}

}  // namespace qmix::kernels
