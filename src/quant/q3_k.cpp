// q3_K: 16 sub-blocks of 16 values, x = d * scale * (q - 4) with 3-bit q (two bits in qs, the
// third in hmask) and 6-bit signed scales; dot partner q8_K.
#include <algorithm>
#include <cmath>

#include "quant/k_quants_common.h"
#include "quant/k_quants_measure.h"
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
    for (int c = 0; c < 8; ++c)  // bit c of byte l: value 32c + l (a loop that vectorises)
      for (int l = 0; l < 32; ++l)
        b.hmask[l] |= static_cast<uint8_t>(((s.level[32 * c + l] >> 2) & 1) << c);
    pack_2bit(s.level, b.qs);
  }
};

// Without an imatrix: make_q3_quants per sub-block (its scales in `scales`, its levels already
// in s.level), the scales rounded against the largest.
void round_plain_scales(const float* scales, SuperBlock& s) {
  float max_scale = 0, amax = 0;
  for (int j = 0; j < 16; ++j) {
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

void fit_plain(const float* x, SuperBlock& s) {
  float scales[16];
  scale_fit::fit_symmetric_moves_groups(x, 16, 16, 4, scales, s.level);
  round_plain_scales(scales, s);
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

// requantize() on the kernels the CPU has (the same levels).
void requantize_q3(const float* x, SuperBlock& s) {
  if (default_search_isa() == SearchIsa::kScalar)
    requantize(x, kFormatQ3K, s);
  else
    requantize_symmetric_avx2(x, kFormatQ3K, s);
}

void reference(const float* x, const float* qw, SuperBlock& s) {
  s.dmin = 0;
  if (qw == nullptr)
    fit_plain(x, s);
  else
    fit_weighted(x, qw, s);
  requantize_q3(x, s);
}

// Without an imatrix the search (refine) costs several times ggml's plain fit (issue #4), so
// plain q3_K takes one closed-form step instead: each sub-block's integer scale moves to the
// least-squares optimum of its levels (ggml's fit weights by x², the error counts every value
// alike), the levels rounded again. A sub-block takes the move only when it measures a lower
// error than its current scale (both measured as the search measures its candidates).
void rescale_plain(const float* x, SuperBlock& s) {
  const float d = fp16_to_fp32(s.d);
  if (d == 0) return;
  const bool simd = default_search_isa() != SearchIsa::kScalar;
  const LevelSumsFn sums_of = simd ? level_sums_avx2 : level_sums;
  const auto measure = simd ? measure_sub_block_avx2 : measure_sub_block;
  static constexpr float kOnes[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  for (int j = 0; j < 16; ++j) {
    const float* xj = x + 16 * j;
    uint8_t* level = s.level + 16 * j;
    const LevelSums t = sums_of(xj, kOnes, kFormatQ3K, level);
    if (!(t.sqq > 0) || s.scale[j] == 0) continue;
    const int scale = std::clamp(nearest_int(static_cast<float>(t.sxq / (t.sqq * d))), -32, 31);
    if (scale == s.scale[j] || scale == 0) continue;
    uint8_t now[16], moved[16];
    const float error_now =
        measure(xj, kOnes, kFormatQ3K, d * static_cast<float>(s.scale[j]), 0.f, now);
    const float error_moved =
        measure(xj, kOnes, kFormatQ3K, d * static_cast<float>(scale), 0.f, moved);
    if (!(error_moved < error_now)) continue;
    s.scale[j] = static_cast<int16_t>(scale);
    std::copy(moved, moved + 16, level);
  }
}

// Our plain row: ggml's fit for two super-blocks at a time (their 32 sub-blocks in SIMD lanes,
// so that the lanes' sequential chains of level moves overlap), then rescale_plain.
void quantize_plain_row(const float* src, BlockQ3K* y, int64_t blocks) {
  constexpr int kTogether = 2;
  float scales[16 * kTogether];
  uint8_t levels[kQKK * kTogether];
  SuperBlock s;
  for (int64_t b = 0; b < blocks; b += kTogether) {
    const int count = static_cast<int>(std::min<int64_t>(kTogether, blocks - b));
    const float* x = src + b * kQKK;
    scale_fit::fit_symmetric_moves_groups(x, 16 * count, 16, 4, scales, levels);
    for (int k = 0; k < count; ++k) {
      std::copy(levels + k * kQKK, levels + (k + 1) * kQKK, s.level);
      round_plain_scales(scales + 16 * k, s);
      requantize_q3(x + k * kQKK, s);
      rescale_plain(x + k * kQKK, s);
      Q3K::encode(s, y[b + k]);
    }
  }
}

void quantize_best_row(const float* src, void* dst, int64_t n, const float* imatrix) {
  if (imatrix != nullptr) return quantize_row_best<Q3K, reference>(src, dst, n, imatrix);
  quantize_plain_row(src, static_cast<BlockQ3K*>(dst), n / kQKK);
}

}  // namespace

QuantKernels q3_k_scalar() {
  QuantKernels k;
  k.quantize = quantize_best_row;
  k.quantize_reference = quantize_row<Q3K, reference>;
  k.dequantize = dequantize_row<Q3K>;
  k.dot = dot_row<Q3K>;
  return k;
}

}  // namespace qmix::kernels
