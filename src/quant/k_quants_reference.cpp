#include "quant/k_quants_reference.h"

#include <algorithm>
#include <cmath>

namespace qmix::kquant {
namespace {

using scale_fit::nearest_int;

void plain_weights(const float* x, int n, PlainWeights kind, float* w) {
  float rms = 0;
  if (kind == PlainWeights::kRmsPlusAbs) {
    float sum_x2 = 0;
    for (int i = 0; i < n; ++i) sum_x2 += x[i] * x[i];
    rms = std::sqrt(sum_x2 / static_cast<float>(n));
  }
  for (int i = 0; i < n; ++i)
    w[i] = kind == PlainWeights::kAbs ? std::fabs(x[i]) : rms + std::fabs(x[i]);
}

// Without an imatrix ggml maps the largest scale (min) to `nmax` and rounds the others;
// returns the super-scale max / nmax.
float quantize_by_max(const float* values, int n, int nmax, int16_t* out) {
  float max = 0;
  for (int j = 0; j < n; ++j) max = std::max(max, values[j]);
  const float inverse = max > 0 ? static_cast<float>(nmax) / max : 0.f;
  for (int j = 0; j < n; ++j) {
    const auto l = static_cast<uint8_t>(nearest_int(inverse * values[j]));  // ggml's uint8_t
    out[j] = static_cast<int16_t>(std::min<int>(nmax, l));
  }
  return max / static_cast<float>(nmax);
}

void fit_plain(const float* x, const AffineRecipe& r, SuperBlock& s) {
  const Format& f = r.format;
  float scales[kMaxSubBlocks], mins[kMaxSubBlocks], w[32];
  for (int j = 0; j < f.sub_blocks(); ++j) {
    const float* xj = x + j * f.sub_block;
    plain_weights(xj, f.sub_block, r.plain_weights, w);
    scales[j] = scale_fit::fit_affine(xj, w, f.sub_block, f.max_level, r.plain_scan,
                                      s.level + j * f.sub_block, &mins[j]);
  }
  s.d = fp32_to_fp16(quantize_by_max(scales, f.sub_blocks(), f.max_scale, s.scale));
  s.dmin = fp32_to_fp16(quantize_by_max(mins, f.sub_blocks(), f.max_min, s.min));
}

void fit_weighted(const float* x, const float* qw, const AffineRecipe& r, SuperBlock& s) {
  const Format& f = r.format;
  const float sigma2 = super_block_sigma2(x, r.sigma2_factor);
  float scales[kMaxSubBlocks], mins[kMaxSubBlocks], sums[kMaxSubBlocks], w[32];
  for (int j = 0; j < f.sub_blocks(); ++j) {
    const float* xj = x + j * f.sub_block;
    scale_fit::importance_weights(xj, qw + j * f.sub_block, sigma2, f.sub_block, w);
    float sum_w = 0;
    for (int i = 0; i < f.sub_block; ++i) sum_w += w[i];
    sums[j] = sum_w;
    scales[j] =
        scale_fit::fit_affine(xj, w, f.sub_block, f.max_level, s.level + j * f.sub_block, &mins[j]);
  }
  uint8_t ls[kMaxSubBlocks], lm[kMaxSubBlocks];
  const float d = scale_fit::fit_positive(scales, sums, f.sub_blocks(), f.max_scale, ls);
  const float dmin = scale_fit::fit_positive(mins, sums, f.sub_blocks(), f.max_min, lm);
  s.d = fp32_to_fp16(d);
  s.dmin = fp32_to_fp16(dmin);
  for (int j = 0; j < f.sub_blocks(); ++j) {
    s.scale[j] = ls[j];
    s.min[j] = lm[j];
  }
}

}  // namespace

float super_block_sigma2(const float* x, float factor) {
  float sum_x2 = 0;
  for (int i = 0; i < kQKK; ++i) sum_x2 += x[i] * x[i];
  return factor * sum_x2 / static_cast<float>(kQKK);
}

void reference_affine(const float* x, const float* qw, const AffineRecipe& recipe, SuperBlock& s) {
  if (qw == nullptr)
    fit_plain(x, recipe, s);
  else
    fit_weighted(x, qw, recipe, s);
  requantize(x, recipe.format, s);
}

}  // namespace qmix::kquant
