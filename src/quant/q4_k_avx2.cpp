// q4_K: AVX2 dot product and dequantization (same results as the scalar kernels).
#include "quant/k_quants_avx2.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using namespace kquant;

struct Q4K {
  using Block = BlockQ4K;
  static constexpr Format format = kFormatQ4K;

  static __m256i levels(const Block& b, int c) {
    return avx2::field(avx2::load(b.qs + 32 * (c / 2)), 4 * (c % 2), 0xF);
  }
  static void scales(const Block& b, BlockScales& s) {
    s.d = b.d;
    s.dmin = b.dmin;
    avx2::unpack_scales_mins_fast(b.scales, s);
  }
};

}  // namespace

QuantKernels q4_k_avx2() {
  return {.dequantize = avx2::dequantize_row<Q4K>, .dot = avx2::dot_row<Q4K>};
}

}  // namespace qmix::kernels
