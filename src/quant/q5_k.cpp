// q5_K: 8 sub-blocks of 32 values, x = d * scale * q - dmin * min with 5-bit q (low nibbles
// as q4_K, fifth bits in qh) and 6-bit scale and min; dot partner q8_K.
#include "quant/k_quants_common.h"
#include "quant/k_quants_reference.h"
#include "quant/k_quants_search.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using namespace kquant;

struct Q5K {
  using Block = BlockQ5K;
  static constexpr Format format = kFormatQ5K;

  static void decode(const Block& b, SuperBlock& s) {
    s.d = b.d;
    s.dmin = b.dmin;
    unpack_scales_mins(b.scales, s.scale, s.min);
    unpack_nibbles(b.qs, s.level);
    for (int g = 0; g < 4; ++g)
      for (int l = 0; l < 32; ++l) {
        s.level[64 * g + l] |= static_cast<uint8_t>(((b.qh[l] >> (2 * g)) & 1) << 4);
        s.level[64 * g + l + 32] |= static_cast<uint8_t>(((b.qh[l] >> (2 * g + 1)) & 1) << 4);
      }
  }
  static void encode(const SuperBlock& s, Block& b) {
    b.d = s.d;
    b.dmin = s.dmin;
    pack_scales_mins(s.scale, s.min, b.scales);
    pack_nibbles(s.level, b.qs);
    for (int l = 0; l < 32; ++l) {
      int h = 0;
      for (int g = 0; g < 4; ++g)
        h |= (s.level[64 * g + l] >> 4) << (2 * g) | (s.level[64 * g + l + 32] >> 4) << (2 * g + 1);
      b.qh[l] = static_cast<uint8_t>(h);
    }
  }
};

constexpr AffineRecipe kRecipe{
    kFormatQ5K,
    PlainWeights::kRmsPlusAbs,
    {-0.5f, 0.1f, 15, scale_fit::ErrorNorm::kSquared, scale_fit::ScanRounding::kClampRounded},
    2.f};

void reference(const float* x, const float* qw, SuperBlock& s) {
  reference_affine(x, qw, kRecipe, s);
}

}  // namespace

QuantKernels q5_k_scalar() {
  QuantKernels k;
  k.quantize = quantize_row_best<Q5K, reference>;
  k.quantize_reference = quantize_row<Q5K, reference>;
  k.dequantize = dequantize_row<Q5K>;
  k.dot = dot_row<Q5K>;
  return k;
}

}  // namespace qmix::kernels
