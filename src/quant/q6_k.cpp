// q6_K: 16 sub-blocks of 16 values, x = d * scale * (q - 32) with 6-bit q (low nibbles in ql,
// top two bits in qh) and 8-bit signed scales; dot partner q8_K.
#include <algorithm>
#include <cmath>

#include "quant/k_quants_common.h"
#include "quant/k_quants_search.h"
#include "quant/kernels.h"
#include "quant/scale_fit.h"

namespace qmix::kernels {
namespace {

using namespace kquant;
using scale_fit::nearest_int;

struct Q6K {
  using Block = BlockQ6K;
  static constexpr Format format = kFormatQ6K;

  // Per 128 values: ql byte l holds the low nibbles of values l (low) and l + 64 (high), ql
  // byte l + 32 those of l + 32 and l + 96; qh byte l the top bits of l + 32k at bits 2k.
  static void decode(const Block& b, SuperBlock& s) {
    s.d = b.d;
    s.dmin = 0;
    for (int j = 0; j < 16; ++j) {
      s.scale[j] = b.scales[j];
      s.min[j] = 0;
    }
    for (int g = 0; g < 2; ++g) {
      const uint8_t* ql = b.ql + 64 * g;
      const uint8_t* qh = b.qh + 32 * g;
      uint8_t* level = s.level + 128 * g;
      for (int l = 0; l < 32; ++l)
        for (int k = 0; k < 4; ++k) {
          const int low = (ql[l + 32 * (k % 2)] >> (4 * (k / 2))) & 0xF;
          level[l + 32 * k] = static_cast<uint8_t>(low | ((qh[l] >> (2 * k)) & 3) << 4);
        }
    }
  }
  static void encode(const SuperBlock& s, Block& b) {
    b.d = s.d;
    for (int j = 0; j < 16; ++j) b.scales[j] = static_cast<int8_t>(s.scale[j]);
    for (int g = 0; g < 2; ++g) {
      uint8_t* ql = b.ql + 64 * g;
      uint8_t* qh = b.qh + 32 * g;
      const uint8_t* level = s.level + 128 * g;
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<uint8_t>((level[l] & 0xF) | (level[l + 64] & 0xF) << 4);
        ql[l + 32] = static_cast<uint8_t>((level[l + 32] & 0xF) | (level[l + 96] & 0xF) << 4);
        int h = 0;
        for (int k = 0; k < 4; ++k) h |= (level[l + 32 * k] >> 4) << (2 * k);
        qh[l] = static_cast<uint8_t>(h);
      }
    }
  }
};

// make_qx_quants per sub-block (weights x^2, or the imatrix as it is: ggml does not mix in
// sigma2 here), then the scales rounded against the largest to 8 bits.
void reference(const float* x, const float* qw, SuperBlock& s) {
  s = SuperBlock{};
  float scales[16], w[16];
  float max_scale = 0, max_abs_scale = 0;
  for (int j = 0; j < 16; ++j) {
    const float* xj = x + 16 * j;
    for (int i = 0; i < 16; ++i) w[i] = qw != nullptr ? qw[16 * j + i] : xj[i] * xj[i];
    scales[j] = scale_fit::fit_symmetric(xj, w, 16, 32, s.level + 16 * j);
    if (std::fabs(scales[j]) > max_abs_scale) {
      max_abs_scale = std::fabs(scales[j]);
      max_scale = scales[j];
    }
  }
  if (max_abs_scale < scale_fit::kGroupMaxEps) {
    s = SuperBlock{};  // ggml zeroes the whole block
    return;
  }
  const float iscale = -128.f / max_scale;
  s.d = fp32_to_fp16(1 / iscale);
  for (int j = 0; j < 16; ++j)
    s.scale[j] = static_cast<int16_t>(std::min(127, nearest_int(iscale * scales[j])));
  requantize(x, kFormatQ6K, s);
}

}  // namespace

QuantKernels q6_k_scalar() {
  QuantKernels k;
  k.quantize = quantize_row_best<Q6K, reference>;
  k.quantize_reference = quantize_row<Q6K, reference>;
  k.dequantize = dequantize_row<Q6K>;
  k.dot = dot_row<Q6K>;
  return k;
}

}  // namespace qmix::kernels
