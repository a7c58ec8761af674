#include "quant/scale_fit.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/cpu.h"
#include "core/error.h"
#include "quant/scale_fit_lanes.h"

namespace qmix::scale_fit {
namespace {

struct WeightedSums {
  float sumlx = 0;
  float suml2 = 0;
};

// Levels for inverse scale `iscale`, clamped to [-nmax, nmax-1], and their weighted sums.
WeightedSums symmetric_sums(const float* x, const float* w, int n, int nmax, float iscale,
                            uint8_t* levels) {
  WeightedSums s;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    if (levels != nullptr) levels[i] = static_cast<uint8_t>(l + nmax);
    const float fl = static_cast<float>(l);
    s.sumlx += w[i] * x[i] * fl;
    s.suml2 += w[i] * fl * fl;
  }
  return s;
}

// The levels symmetric_sums writes, without its sums.
void symmetric_levels(const float* x, int n, int nmax, float iscale, uint8_t* levels) {
  for (int i = 0; i < n; ++i)
    levels[i] =
        static_cast<uint8_t>(std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1) + nmax);
}

// fit_symmetric's 18 scan scales, eight per call of the lane kernel; the first candidate that
// beats the best so far (in the scalar order) is taken, exactly as the scalar loop does. The
// levels depend only on the winning scale, so they are written once, for the last winner.
float scan_symmetric_lanes(const float* x, const float* w, int n, int nmax, float max,
                           float first_iscale, uint8_t* levels) {
  const WeightedSums first = symmetric_sums(x, w, n, nmax, first_iscale, nullptr);
  float scale = first.suml2 != 0 ? first.sumlx / first.suml2 : 0.0f;
  float best = scale * first.sumlx;
  float winner = first_iscale;
  float iscales[24] = {};
  int count = 0;
  for (int is = -9; is <= 9; ++is)
    if (is != 0)
      iscales[count++] = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
  lanes::SymmetricLanes sums;
  for (int first_lane = 0; first_lane < count; first_lane += lanes::kLanes) {
    lanes::symmetric_candidates_avx2(x, w, n, nmax, iscales + first_lane, sums);
    for (int k = 0; k < std::min(lanes::kLanes, count - first_lane); ++k) {
      const float sumlx = sums.sumlx[k], suml2 = sums.suml2[k];
      if (suml2 > 0 && sumlx * sumlx > best * suml2) {
        winner = iscales[first_lane + k];
        scale = sumlx / suml2;
        best = scale * sumlx;
      }
    }
  }
  if (levels != nullptr) symmetric_levels(x, n, nmax, winner, levels);
  return scale;
}

}  // namespace

FitIsa default_fit_isa() {
  if (cpu_features().use_avx512()) return FitIsa::kAvx512;
  return cpu_features().use_avx2() ? FitIsa::kAvx2 : FitIsa::kScalar;
}

float mean_square(const float* x, int64_t n) {
  float sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += x[i] * x[i];
  return sum / static_cast<float>(n);
}

void importance_weights(const float* x, const float* qw, float sigma2, int n, float* w) {
  for (int i = 0; i < n; ++i) w[i] = qw[i] * std::sqrt(sigma2 + x[i] * x[i]);
}

float fit_symmetric(const float* x, const float* w, int n, int nmax, uint8_t* levels, FitIsa isa) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::fill(levels, levels + n, uint8_t{0});
    return 0.f;
  }
  const float first_iscale = static_cast<float>(-nmax) / max;
  if (isa != FitIsa::kScalar) return scan_symmetric_lanes(x, w, n, nmax, max, first_iscale, levels);
  const WeightedSums first = symmetric_sums(x, w, n, nmax, first_iscale, levels);
  float scale = first.suml2 != 0 ? first.sumlx / first.suml2 : 0.0f;
  float best = scale * first.sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    const float iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
    const WeightedSums s = symmetric_sums(x, w, n, nmax, iscale, nullptr);
    if (s.suml2 > 0 && s.sumlx * s.sumlx > best * s.suml2) {
      symmetric_sums(x, w, n, nmax, iscale, levels);
      scale = s.sumlx / s.suml2;
      best = scale * s.sumlx;
    }
  }
  return scale;
}

namespace {

struct AffineFit {
  float scale = 0;
  float min = 0;  // the (non-positive) value of level 0
  float error = 0;
};

float affine_error(const float* x, const float* w, int n, const uint8_t* levels, float scale,
                   float min, ErrorNorm norm) {
  float error = 0;
  for (int i = 0; i < n; ++i) {
    float diff = scale * static_cast<float>(levels[i]) + min - x[i];
    diff = norm == ErrorNorm::kAbsolute ? std::fabs(diff) : diff * diff;
    error += w[i] * diff;
  }
  return error;
}

int scan_level(float v, int nmax, ScanRounding rounding) {
  if (rounding == ScanRounding::kClampRounded) return std::clamp(nearest_int(v), 0, nmax);
  // min can sit at or near max, so v may be huge or not finite: clamp before rounding.
  return v > 0 ? nearest_int(std::min(v, static_cast<float>(nmax))) : 0;
}

// One step of the scan: levels at inverse scale `iscale` from `min`, then the weighted
// least-squares scale and min for them. Returns false when the fit is degenerate.
bool affine_candidate(const float* x, const float* w, int n, int nmax, const AffineScan& scan,
                      float iscale, float min, float sum_w, float sum_x, uint8_t* levels,
                      AffineFit* fit) {
  float sum_l = 0, sum_l2 = 0, sum_xl = 0;
  for (int i = 0; i < n; ++i) {
    const int l = scan_level(iscale * (x[i] - min), nmax, scan.rounding);
    levels[i] = static_cast<uint8_t>(l);
    const float fl = static_cast<float>(l);
    sum_l += w[i] * fl;
    sum_l2 += w[i] * fl * fl;
    sum_xl += w[i] * fl * x[i];
  }
  const float det = sum_w * sum_l2 - sum_l * sum_l;
  if (!(det > 0)) return false;
  fit->scale = (sum_w * sum_xl - sum_x * sum_l) / det;
  fit->min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
  if (fit->min > 0) {
    fit->min = 0;
    fit->scale = sum_xl / sum_l2;
  }
  fit->error = affine_error(x, w, n, levels, fit->scale, fit->min, scan.norm);
  return true;
}

// The state of fit_affine's scan: the best levels, their scale and min and error.
struct AffineBest {
  float scale, min, error;
};

// fit_affine's scan with eight (AVX2) or sixteen (AVX-512) steps per call of the lane kernel.
// The scalar loop rescans from the best min found so far, so when a step moves the min the
// steps after it are evaluated again from there; steps that keep it stay valid.
void scan_affine_lanes(const float* x, const float* w, int n, int nmax, const AffineScan& scan,
                       float max, float sum_w, float sum_x, AffineBest& best, uint8_t* levels,
                       FitIsa isa) {
  const bool wide = isa == FitIsa::kAvx512;
  const int lanes_per_pass = wide ? lanes::kAffineLanesAvx512 : lanes::kLanes;
  lanes::AffineBatch batch{x, w, n, nmax, scan, best.min, max, sum_w, sum_x, 0};
  lanes::AffineLanes out;
  const bool rescan = scan.scan_min == ScanMin::kBestSoFar;
  int is = 0;
  while (is <= scan.nstep) {
    batch.first_step = is;
    if (rescan) batch.min = best.min;
    if (wide)
      lanes::affine_candidates_avx512(batch, out);
    else
      lanes::affine_candidates_avx2(batch, out);
    const int count = std::min(lanes_per_pass, scan.nstep + 1 - is);
    int next = is + count;
    for (int k = 0; k < count; ++k) {
      if (!out.valid[k] || !(out.error[k] < best.error)) continue;
      for (int i = 0; i < n; ++i) levels[i] = static_cast<uint8_t>(out.level[i][k]);
      const bool moved = std::bit_cast<uint32_t>(out.min[k]) != std::bit_cast<uint32_t>(best.min);
      best = {out.scale[k], out.min[k], out.error[k]};
      if (moved && rescan) {
        next = is + k + 1;
        break;
      }
    }
    is = next;
  }
}

}  // namespace

float fit_affine(const float* x, const float* w, int n, int nmax, const AffineScan& scan,
                 uint8_t* levels, float* offset, FitIsa isa) {
  float min = x[0], max = x[0];
  float sum_w = w[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  min = std::min(min, 0.f);
  if (max <= min) {
    std::fill(levels, levels + n, uint8_t{0});
    *offset = -min;
    return 0.f;
  }
  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1 / iscale;
  for (int i = 0; i < n; ++i)
    levels[i] = static_cast<uint8_t>(std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax));
  float best_error = affine_error(x, w, n, levels, scale, min, scan.norm);
  if (isa != FitIsa::kScalar && n <= lanes::kMaxValues) {
    AffineBest best{scale, min, best_error};
    scan_affine_lanes(x, w, n, nmax, scan, max, sum_w, sum_x, best, levels, isa);
    *offset = -best.min;
    return best.scale;
  }
  uint8_t trial[256];
  QMIX_CHECK(n <= 256);
  const float first_min = min;
  for (int is = 0; is <= scan.nstep; ++is) {
    // ggml rescans from the best min found so far, so `min` moves during the scan.
    const float at = scan.scan_min == ScanMin::kBestSoFar ? min : first_min;
    iscale =
        (scan.rmin + scan.rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (max - at);
    AffineFit fit;
    if (!affine_candidate(x, w, n, nmax, scan, iscale, at, sum_w, sum_x, trial, &fit)) continue;
    if (fit.error < best_error) {
      std::copy(trial, trial + n, levels);
      best_error = fit.error;
      scale = fit.scale;
      min = fit.min;
    }
  }
  *offset = -min;
  return scale;
}

namespace {

// Weighted sums of a level assignment, as make_qp_quants / make_q3_quants keep them.
struct LevelSums {
  float sumlx = 0;
  float suml2 = 0;
};

// Moves single levels to their best value given the others' fit (scale = sumlx / suml2),
// keeping a move when it raises sumlx^2 / suml2; up to five rounds. level_of(i) reads the
// current level, set_level(i, l) stores one. ggml's two copies differ only in when a move is
// considered; `require_positive_l2` selects make_qp_quants' condition (sl2 > 0 up front).
template <class Weight, class Get, class Set>
LevelSums move_levels(const float* x, int n, int lo, int hi, LevelSums s, Weight weight,
                      Get level_of, Set set_level, bool require_positive_l2) {
  for (int round = 0; round < 5; ++round) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = weight(i);
      const float old = static_cast<float>(level_of(i));
      float slx = s.sumlx - w * x[i] * old;
      float sl2 = s.suml2 - w * old * old;
      if (!(slx > 0) || (require_positive_l2 && !(sl2 > 0))) continue;
      const int l = std::clamp(nearest_int(x[i] * sl2 / slx), lo, hi);
      if (l == level_of(i)) continue;
      const float fl = static_cast<float>(l);
      slx += w * x[i] * fl;
      sl2 += w * fl * fl;
      if ((require_positive_l2 || sl2 > 0) && slx * slx * s.suml2 > s.sumlx * s.sumlx * sl2) {
        set_level(i, l);
        s.sumlx = slx;
        s.suml2 = sl2;
        ++changed;
      }
    }
    if (changed == 0) break;
  }
  return s;
}

float weighted_error_at(const float* x, const float* w, int n, int nmax, float iscale) {
  const float scale = 1 / iscale;
  float mse = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::min(nmax, nearest_int(iscale * x[i]));
    const float diff = x[i] - scale * static_cast<float>(l);
    mse += w[i] * diff * diff;
  }
  return mse;
}

}  // namespace

float fit_positive(const float* x, const float* w, int n, int nmax, uint8_t* levels) {
  float max = 0;
  for (int i = 0; i < n; ++i) max = std::max(max, x[i]);
  if (max < kGroupMaxEps) {
    std::fill(levels, levels + n, uint8_t{0});
    return 0.f;
  }
  float iscale = static_cast<float>(nmax) / max;
  // ggml stores the first levels unclamped in bytes and measures the error with them.
  for (int i = 0; i < n; ++i) levels[i] = static_cast<uint8_t>(nearest_int(iscale * x[i]));
  const float scale = 1 / iscale;
  float best = 0;
  for (int i = 0; i < n; ++i) {
    const float diff = x[i] - scale * static_cast<float>(levels[i]);
    best += w[i] * diff * diff;
  }
  for (int is = -4; is <= 4; ++is) {
    if (is == 0) continue;
    const float trial = (0.1f * static_cast<float>(is) + static_cast<float>(nmax)) / max;
    const float mse = weighted_error_at(x, w, n, nmax, trial);
    if (mse < best) {
      best = mse;
      iscale = trial;
    }
  }
  LevelSums s;
  for (int i = 0; i < n; ++i) {
    const int l = std::min(nmax, nearest_int(iscale * x[i]));
    levels[i] = static_cast<uint8_t>(l);
    const float fl = static_cast<float>(l);
    s.sumlx += w[i] * x[i] * fl;
    s.suml2 += w[i] * fl * fl;
  }
  s = move_levels(
      x, n, std::numeric_limits<int>::min(), nmax, s, [&](int i) { return w[i]; },
      [&](int i) { return static_cast<int>(levels[i]); },
      [&](int i, int l) { levels[i] = static_cast<uint8_t>(l); }, true);
  return s.suml2 > 0.0f ? s.sumlx / s.suml2 : 0.0f;
}

float fit_symmetric_moves(const float* x, int n, int nmax, uint8_t* levels) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::fill(levels, levels + n, uint8_t{0});
    return 0.f;
  }
  const float iscale = static_cast<float>(-nmax) / max;
  int signed_levels[256];
  QMIX_CHECK(n <= 256);
  LevelSums s;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    signed_levels[i] = l;
    const float w = x[i] * x[i];
    const float fl = static_cast<float>(l);
    s.sumlx += w * x[i] * fl;
    s.suml2 += w * fl * fl;
  }
  s = move_levels(
      x, n, -nmax, nmax - 1, s, [&](int i) { return x[i] * x[i]; },
      [&](int i) { return signed_levels[i]; }, [&](int i, int l) { signed_levels[i] = l; }, false);
  for (int i = 0; i < n; ++i) levels[i] = static_cast<uint8_t>(signed_levels[i] + nmax);
  return s.suml2 > 0.0f ? s.sumlx / s.suml2 : 0.0f;
}

void fit_symmetric_moves_groups(const float* x, int groups, int n, int nmax, float* scales,
                                uint8_t* levels, FitIsa isa) {
  int g = 0;
  if (isa != FitIsa::kScalar && n <= lanes::kMaxValues)
    for (int pass = 2 * lanes::kMovesGroups; pass >= lanes::kMovesGroups;
         pass -= lanes::kMovesGroups)
      for (; g + pass <= groups; g += pass)
        lanes::symmetric_moves_avx2(x + g * n, pass, n, nmax, scales + g, levels + g * n);
  for (; g < groups; ++g) scales[g] = fit_symmetric_moves(x + g * n, n, nmax, levels + g * n);
}

}  // namespace qmix::scale_fit
