#include "quant/iq4_common.h"

#include <algorithm>
#include <cmath>

#include "quant/block_layouts.h"
#include "quant/scale_fit.h"
#include "quant/scale_fit_lanes.h"

namespace qmix::iq4 {
namespace {

using layout::kIq4nlValues;
constexpr int kBlock = 32;
constexpr int kTries = 7;

struct Sums {
  float sumqx = 0;
  float sumq2 = 0;
};

Sums weighted_sums(const float* x, const float* w, float id) {
  Sums s;
  for (int j = 0; j < kBlock; ++j) {
    const int l = scale_fit::nearest_level_index(kIq4nlValues, id * x[j]);
    const float q = static_cast<float>(kIq4nlValues[l]);
    s.sumqx += w[j] * q * x[j];
    s.sumq2 += w[j] * q * q;
  }
  return s;
}

}  // namespace

float super_block_sigma2(const float* x, int n) {
  float sigma2 = 0;
  for (int j = 0; j < n; ++j) sigma2 += x[j] * x[j];
  return sigma2 * (2.f / static_cast<float>(n));
}

void block_weights(const float* x, const float* qw, float sigma2, int n, float* w) {
  if (qw != nullptr) {
    for (int j = 0; j < n; ++j) w[j] = qw[j] * std::sqrt(sigma2 + x[j] * x[j]);
  } else {
    for (int j = 0; j < n; ++j) w[j] = x[j] * x[j];
  }
}

namespace {

// The 16 candidates (the starting scale, then the 15 tries) in two calls of the lane kernel.
float fit_block_lanes(const float* x, const float* w, float max, float first_id) {
  float ids[2 * scale_fit::lanes::kLanes];
  ids[0] = first_id;
  for (int itry = -kTries; itry <= kTries; ++itry)
    ids[itry + kTries + 1] = static_cast<float>(itry + kIq4nlValues[0]) / max;
  scale_fit::lanes::CodebookLanes sums[2];
  for (int half = 0; half < 2; ++half)
    scale_fit::lanes::codebook_candidates_avx2(x, w, kBlock, kIq4nlValues,
                                               ids + half * scale_fit::lanes::kLanes, sums[half]);
  float d = sums[0].sumq2[0] > 0 ? sums[0].sumqx[0] / sums[0].sumq2[0] : 0.f;
  float best = d * sums[0].sumqx[0];
  for (int c = 1; c < 2 * scale_fit::lanes::kLanes; ++c) {
    const float sumqx = sums[c / 8].sumqx[c % 8], sumq2 = sums[c / 8].sumq2[c % 8];
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = d * sumqx;
    }
  }
  return d;
}

}  // namespace

float fit_block(const float* x, const float* w, scale_fit::FitIsa isa) {
  float amax = 0, max = 0;
  for (int j = 0; j < kBlock; ++j) {
    const float ax = std::fabs(x[j]);
    if (ax > amax) {
      amax = ax;
      max = x[j];
    }
  }
  if (amax < scale_fit::kGroupMaxEps) return 0;
  const float first_d = -max / static_cast<float>(kIq4nlValues[0]);
  if (isa != scale_fit::FitIsa::kScalar) return fit_block_lanes(x, w, max, 1 / first_d);
  const Sums first = weighted_sums(x, w, 1 / first_d);
  float d = first.sumq2 > 0 ? first.sumqx / first.sumq2 : 0.f;
  float best = d * first.sumqx;
  for (int itry = -kTries; itry <= kTries; ++itry) {
    const float id = static_cast<float>(itry + kIq4nlValues[0]) / max;
    const Sums s = weighted_sums(x, w, id);
    if (s.sumq2 > 0 && s.sumqx * s.sumqx > best * s.sumq2) {
      d = s.sumqx / s.sumq2;
      best = d * s.sumqx;
    }
  }
  return d;
}

void levels_at(const float* x, int n, float id, uint8_t* levels) {
  for (int j = 0; j < n; ++j)
    levels[j] = static_cast<uint8_t>(scale_fit::nearest_level_index(kIq4nlValues, id * x[j]));
}

}  // namespace qmix::iq4
