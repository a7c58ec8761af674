// q2_K: AVX2 dot product and dequantization (same results as the scalar kernels).
#include "quant/k_quants_avx2.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using namespace kquant;

struct Q2K {
  using Block = BlockQ2K;
  static constexpr Format format = kFormatQ2K;

  static __m256i levels(const Block& b, int c) {
    return avx2::field(avx2::load(b.qs + 32 * (c / 4)), 2 * (c % 4), 3);
  }
  static void scales(const Block& b, BlockScales& s) {
    s.d = b.d;
    s.dmin = b.dmin;
    for (int j = 0; j < 16; ++j) {
      s.scale[j] = b.scales[j] & 0xF;
      s.min[j] = b.scales[j] >> 4;
    }
  }
};

}  // namespace

QuantKernels q2_k_avx2() {
  return {.dequantize = avx2::dequantize_row<Q2K>, .dot = avx2::dot_row<Q2K>};
}

}  // namespace qmix::kernels
