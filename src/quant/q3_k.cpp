// q3_K: 16 sub-blocks of 16 values, x = d * scale * (q - 4) with 3-bit q (two bits in qs, the
// third in hmask) and 6-bit signed scales; dot partner q8_K.
#include <algorithm>
#include <cmath>

#include "quant/k_quants_common.h"
#include "quant/k_quants_reference.h"
#include "quant/k_quants_search.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using namespace kquant;
using scale_fit::nearest_int;

constexpr int kScaleBias = 32;

struct Q3K {
  using Block = BlockQ3K;
  static constexpr Format format = kFormatQ3K;

  static void decode(const Block& b, SuperBlock& s) {
    s.d = b.d;
    s.dmin = 0;
    unpack_q3_scales(b.scales, s.scale);
    std::fill(std::begin(s.min), std::end(s.min), int16_t{0});
    unpack_2bit(b.qs, s.level);
    for (int e = 0; e < kQKK; ++e)
      s.level[e] |= static_cast<uint8_t>(((b.hmask[e % 32] >> (e / 32)) & 1) << 2);
  }
  static void encode(const SuperBlock& s, Block& b) {
    b.d = s.d;
    pack_q3_scales(s.scale, b.scales);
    std::fill(std::begin(b.hmask), std::end(b.hmask), uint8_t{0});
    for (int e = 0; e < kQKK; ++e)
      b.hmask[e % 32] |= static_cast<uint8_t>((s.level[e] >> 2) << (e / 32));
    pack_2bit(s.level, b.qs);
  }
};

// Without an imatrix: make_q3_quants per sub-block, the scales rounded against the largest.
void fit_plain(const float* x, SuperBlock& s) {
  float scales[16];
  float max_scale = 0, amax = 0;
  for (int j = 0; j < 16; ++j) {
    scales[j] = scale_fit::fit_symmetric_moves(x + 16 * j, 16, 4, s.level + 16 * j);
    if (std::fabs(scales[j]) > amax) {
      amax = std::fabs(scales[j]);
      max_scale = scales[j];
    }
  }
  if (max_scale == 0) {
    std::fill(std::begin(s.scale), std::end(s.scale), int16_t{-kScaleBias});  // bytes of 0
    s.d = fp32_to_fp16(0.f);
    return;
  }
  const float iscale = -32.f / max_scale;
  for (int j = 0; j < 16; ++j) {
    const auto l = static_cast<int8_t>(nearest_int(iscale * scales[j]));  // ggml's int8_t
    s.scale[j] = static_cast<int16_t>(std::clamp<int>(l, -32, 31));
  }
  s.d = fp32_to_fp16(1 / iscale);
}

// With an imatrix: weighted make_qx_quants per sub-block, then for the scales themselves.
void fit_weighted(const float* x, const float* qw, SuperBlock& s) {
  const float sigma2 = super_block_sigma2(x, 2.f);
  float scales[16], sums[16], w[16];
  for (int j = 0; j < 16; ++j) {
    scale_fit::importance_weights(x + 16 * j, qw + 16 * j, sigma2, 16, w);
    float sum_w = 0;
    for (int i = 0; i < 16; ++i) sum_w += w[i];
    sums[j] = sum_w;
    scales[j] = scale_fit::fit_symmetric(x + 16 * j, w, 16, 4, s.level + 16 * j);
  }
  uint8_t ls[16];
  s.d = fp32_to_fp16(scale_fit::fit_symmetric(scales, sums, 16, 32, ls));
  for (int j = 0; j < 16; ++j) s.scale[j] = static_cast<int16_t>(ls[j] - kScaleBias);
}

void reference(const float* x, const float* qw, SuperBlock& s) {
  s.dmin = 0;
  if (qw == nullptr)
    fit_plain(x, s);
  else
    fit_weighted(x, qw, s);
  requantize(x, kFormatQ3K, s);
}

}  // namespace

QuantKernels q3_k_scalar() {
  QuantKernels k;
  k.quantize = quantize_row_best<Q3K, reference>;
  k.quantize_reference = quantize_row<Q3K, reference>;
  k.dequantize = dequantize_row<Q3K>;
  k.dot = dot_row<Q3K>;
  return k;
}

}  // namespace qmix::kernels
