// q2_K: 16 sub-blocks of 16 values, x = d * scale * q - dmin * min with 2-bit q and 4-bit
// scale and min; dot partner q8_K.
#include "quant/k_quants_common.h"
#include "quant/k_quants_reference.h"
#include "quant/k_quants_search.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using namespace kquant;

struct Q2K {
  using Block = BlockQ2K;
  static constexpr Format format = kFormatQ2K;

  static void decode(const Block& b, SuperBlock& s) {
    s.d = b.d;
    s.dmin = b.dmin;
    for (int j = 0; j < 16; ++j) {
      s.scale[j] = b.scales[j] & 0xF;
      s.min[j] = b.scales[j] >> 4;
    }
    unpack_2bit(b.qs, s.level);
  }
  static void encode(const SuperBlock& s, Block& b) {
    b.d = s.d;
    b.dmin = s.dmin;
    for (int j = 0; j < 16; ++j) b.scales[j] = static_cast<uint8_t>(s.scale[j] | s.min[j] << 4);
    pack_2bit(s.level, b.qs);
  }
};

constexpr AffineRecipe kRecipe{
    kFormatQ2K,
    PlainWeights::kAbs,
    {-0.5f, 0.1f, 15, scale_fit::ErrorNorm::kAbsolute, scale_fit::ScanRounding::kClampRounded},
    1.f};

void reference(const float* x, const float* qw, SuperBlock& s) {
  reference_affine(x, qw, kRecipe, s);
}

}  // namespace

QuantKernels q2_k_scalar() {
  QuantKernels k;
  k.quantize = quantize_row_best<Q2K, reference>;
  k.quantize_reference = quantize_row<Q2K, reference>;
  k.dequantize = dequantize_row<Q2K>;
  k.dot = dot_row<Q2K>;
  return k;
}

}  // namespace qmix::kernels
