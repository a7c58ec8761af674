#include "quant/k_quants_search.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/cpu.h"
#include "quant/k_quants_measure.h"
#include "quant/scale_fit.h"

namespace qmix::kquant {
namespace {

constexpr int kSubBlockRounds = 3;

// Nearest integer of v within [lo, hi]; safe for huge or non-finite v.
int round_into(float v, int lo, int hi) {
  if (!(v > static_cast<float>(lo))) return lo;
  if (v >= static_cast<float>(hi)) return hi;
  return scale_fit::nearest_int(v);
}

// One sub-block's parameters at fixed super-scales, as dequantize combines them.
struct SubBlockScales {
  float dl = 0;  // d * scale
  float ml = 0;  // dmin * min (affine formats)
};

SubBlockScales sub_block_scales(const Format& f, float d, float dmin, int scale, int min) {
  SubBlockScales s;
  s.dl = d * static_cast<float>(scale);
  if (f.affine()) s.ml = dmin * static_cast<float>(min);
  return s;
}

// Weighted least-squares (dl, ml) of a sub-block for its current levels.
SubBlockScales least_squares(LevelSumsFn level_sums, const float* x, const float* w,
                             const Format& f, const uint8_t* level) {
  const LevelSums t = level_sums(x, w, f, level);
  SubBlockScales s;
  if (!f.affine()) {
    s.dl = t.sqq > 0 ? static_cast<float>(t.sxq / t.sqq) : 0.f;
    return s;
  }
  // value = dl * q - ml: minimise Σ w (x - dl q + ml)².
  const double det = t.sw * t.sqq - t.sq * t.sq;
  if (!(det > 0)) return s;
  s.dl = static_cast<float>((t.sw * t.sxq - t.sx * t.sq) / det);
  s.ml = static_cast<float>((t.sq * t.sxq - t.sqq * t.sx) / det);
  return s;
}

struct Candidate {
  int scale, min;
};

// How hard the search works: the knee of error against cost on the golden sets and on rows of
// the anchor model (docs/performance.md has the measurements). One round: refitting the
// super-scales and rescanning the sub-blocks bought 0.001–0.005 of error ratio for 0.3–0.6 of
// ggml's cost. The symmetric formats (q3_K, q6_K) scan a first window of ±5 % (at least ±2)
// capped at ±3, so that it and the current scale fill one AVX2 pass of the candidate kernel;
// the affine ones (q2_K, q4_K, q5_K) scan ±10 % (at least ±3) of both the scale and the min,
// capped at ±4 (81 pairs, six AVX-512 passes): the full ±10 % square (up to 225 pairs) bought
// q4_K another 0.003 (plain) to 0.008 (imatrix) of error ratio for 0.3 of ggml's cost.
struct SearchBudget {
  float window;  // first scan: ±window * centre + 1
  int min_radius;
  int max_radius;
};
constexpr SearchBudget kSymmetricBudget{0.05f, 2, (kMeasureLanes - 1) / 2};
constexpr SearchBudget kAffineBudget{0.1f, 3, 4};

const SearchBudget& budget_of(const Format& f) {
  return f.affine() ? kAffineBudget : kSymmetricBudget;
}

int scan_radius(const Format& f, float center) {
  const SearchBudget& b = budget_of(f);
  const int radius = std::max(b.min_radius, static_cast<int>(b.window * std::fabs(center)) + 1);
  return std::min(radius, b.max_radius);
}

// The kernels the search runs on (scalar, AVX2 or AVX-512: same results).
struct SearchKernels {
  MeasureFn measure;
  MeasureCandidatesFn candidates;
  LevelSumsFn level_sums;
  int (*first_least)(const float* error, int count);
};

SearchKernels search_kernels(SearchIsa isa) {
  switch (isa) {
    case SearchIsa::kAvx512:
      return {measure_sub_block_avx2, measure_candidates_avx512, level_sums_avx2,
              first_least_avx512};
    case SearchIsa::kAvx2:
      return {measure_sub_block_avx2, measure_candidates_avx2, level_sums_avx2, first_least};
    case SearchIsa::kScalar:
      break;
  }
  return {measure_sub_block, measure_candidates, level_sums, first_least};
}

// Candidate (scale, min) pairs of one scan and their values as dequantize combines them:
// candidate 0 is the current pair, then the window row by row (scales) and column by column
// (mins). The arrays have room for the lane kernels' last, partly filled pass.
struct CandidateGrid {
  static constexpr int kMax = 1024;
  int count = 0;
  Candidate current{}, first{};  // the current pair; the window's first (scale, min)
  int columns = 1;               // mins per scale
  alignas(64) float dl[kMax + kCandidatePadding];
  alignas(64) float ml[kMax + kCandidatePadding];
  alignas(64) float error[kMax + kCandidatePadding];

  void fill(const Format& f, float d, float dmin, Candidate now, Candidate middle,
            Candidate radius) {
    current = now;
    first = {std::max(f.min_scale, middle.scale - radius.scale),
             std::max(0, middle.min - radius.min)};
    const int last_scale = std::min(f.max_scale, middle.scale + radius.scale);
    const int last_min = std::min(f.max_min, middle.min + radius.min);
    columns = last_min - first.min + 1;
    const int rows = std::min(last_scale - first.scale + 1, (kMax - 1) / columns);
    const SubBlockScales c = sub_block_scales(f, d, dmin, now.scale, now.min);
    dl[0] = c.dl;
    ml[0] = c.ml;
    float mins[kMax];
    for (int m = 0; m < columns; ++m)
      mins[m] = f.affine() ? dmin * static_cast<float>(first.min + m) : 0.f;
    count = 1;
    for (int r = 0; r < rows; ++r, count += columns) {
      std::fill(dl + count, dl + count + columns, d * static_cast<float>(first.scale + r));
      std::copy(mins, mins + columns, ml + count);
    }
    std::fill(dl + count, dl + count + kCandidatePadding, 0.f);
    std::fill(ml + count, ml + count + kCandidatePadding, 0.f);
  }
  Candidate at(int c) const {
    if (c == 0) return current;
    return {first.scale + (c - 1) / columns, first.min + (c - 1) % columns};
  }
};

// Best integer scale/min and levels of sub-block j at the super-block's current d, dmin: tries
// every integer scale (and, for the affine formats, min: the best min moves with the scale as
// clipping at the top trades against the offset) in a window around the least-squares
// optimum of the current levels, wide at first (budget_of) and then ±1, until nothing changes.
// The window's errors are measured in one call (eight or sixteen candidates per SIMD pass);
// the first candidate that beats the current parameters wins, as in a sequential scan. The
// levels of `s` must be those of its current parameters (ggml's requantize leaves them so, and
// so does every step of the search); only a winner's levels are rounded again.
void refine_sub_block(const SearchKernels& k, const float* x, const float* w, const Format& f,
                      int j, SuperBlock& s) {
  const float d = fp16_to_fp32(s.d), dmin = fp16_to_fp32(s.dmin);
  const int offset = j * f.sub_block;
  x += offset;
  w += offset;
  uint8_t* level = s.level + offset;
  Candidate best{s.scale[j], s.min[j]};
  CandidateGrid grid;
  for (int round = 0; round < kSubBlockRounds; ++round) {
    const SubBlockScales target = least_squares(k.level_sums, x, w, f, level);
    const float center = target.dl / d;
    if (!std::isfinite(center)) break;
    const bool wide = round == 0;
    const float min_center = f.affine() && dmin != 0 ? target.ml / dmin : 0.f;
    const Candidate middle{
        round_into(center, f.min_scale, f.max_scale),
        std::isfinite(min_center) ? round_into(min_center, 0, f.max_min) : best.min};
    const Candidate radius{wide ? scan_radius(f, center) : 1,
                           f.affine() ? (wide ? scan_radius(f, min_center) : 1) : 0};
    grid.fill(f, d, dmin, best, middle, radius);
    k.candidates(x, w, f, grid.dl, grid.ml, grid.count, grid.error);
    const int winner = k.first_least(grid.error, grid.count);
    if (winner == 0) break;
    best = grid.at(winner);
    k.measure(x, w, f, grid.dl[winner], grid.ml[winner], level);
  }
  s.scale[j] = static_cast<int16_t>(best.scale);
  s.min[j] = static_cast<int16_t>(best.min);
}

template <bool kAffine>
float measure_scalar(const float* x, const float* w, const Format& f, float dl, float ml,
                     uint8_t* level) {
  const float inverse = dl != 0 ? 1 / dl : 0.f;
  const float shift = kAffine ? ml : 0.f;
  const float bias = static_cast<float>(f.bias), top = static_cast<float>(f.max_level);
  float lanes[kMeasureLanes] = {};
  for (int i0 = 0; i0 < f.sub_block; i0 += kMeasureLanes) {
    for (int k = 0; k < kMeasureLanes; ++k) {
      const int i = i0 + k;
      const float v = std::min(std::max(0.f, (x[i] + shift) * inverse + bias), top);  // NaN → 0
      const int l = scale_fit::nearest_int(v);
      level[i] = static_cast<uint8_t>(l);
      const float value =
          kAffine ? dl * static_cast<float>(l) - ml : dl * static_cast<float>(l - f.bias);
      const float diff = x[i] - value;
      lanes[k] += w[i] * diff * diff;
    }
  }
  float error = 0;
  for (const float lane : lanes) error += lane;
  return error;
}

template <bool kAffine>
float candidate_error(const float* x, const float* w, const Format& f, float dl, float ml) {
  const float inverse = dl != 0 ? 1 / dl : 0.f;
  const float shift = kAffine ? ml : 0.f;
  const float bias = static_cast<float>(f.bias), top = static_cast<float>(f.max_level);
  float error = 0;
  for (int i = 0; i < f.sub_block; ++i) {
    const float shifted = x[i] + shift;
    const float v = std::min(std::max(0.f, shifted * inverse + bias), top);  // NaN → 0
    const int l = scale_fit::nearest_int(v);
    // x - value = (x + ml) - dl * q with q = level - bias: one fused step, as the lanes take it.
    const float diff = std::fma(-dl, static_cast<float>(l - f.bias), shifted);
    error = std::fma(w[i] * diff, diff, error);
  }
  return error;
}

// super_block_error with importances given: four partial sums in double (exact enough to
// compare rounds), a loop the compiler vectorises.
double weighted_error(const float* x, const float* w, const Format& f, const SuperBlock& s) {
  float y[kQKK];
  dequantize(s, f, y);
  constexpr int kLanes = 4;
  double lanes[kLanes] = {};
  for (int i0 = 0; i0 < kQKK; i0 += kLanes)
    for (int k = 0; k < kLanes; ++k) {
      const int i = i0 + k;
      const double diff = static_cast<double>(x[i]) - static_cast<double>(y[i]);
      lanes[k] += static_cast<double>(w[i]) * diff * diff;
    }
  return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

}  // namespace

void measure_candidates(const float* x, const float* w, const Format& f, const float* dl,
                        const float* ml, int count, float* error) {
  for (int c = 0; c < count; ++c)
    error[c] = f.affine() ? candidate_error<true>(x, w, f, dl[c], ml[c])
                          : candidate_error<false>(x, w, f, dl[c], ml[c]);
}

float measure_sub_block(const float* x, const float* w, const Format& f, float dl, float ml,
                        uint8_t* level) {
  return f.affine() ? measure_scalar<true>(x, w, f, dl, ml, level)
                    : measure_scalar<false>(x, w, f, dl, ml, level);
}

int first_least(const float* error, int count) {
  int best = 0;
  for (int c = 1; c < count; ++c)
    if (error[c] < error[best]) best = c;
  return best;
}

LevelSums level_sums(const float* x, const float* w, const Format& f, const uint8_t* level) {
  float lanes[kLevelSums][kMeasureLanes] = {};
  const float bias = static_cast<float>(f.bias);
  for (int i0 = 0; i0 < f.sub_block; i0 += kMeasureLanes)
    for (int k = 0; k < kMeasureLanes; ++k) {
      const float wi = w[i0 + k], q = static_cast<float>(level[i0 + k]) - bias;
      const float wq = wi * q, wx = wi * x[i0 + k];
      lanes[0][k] += wi;
      lanes[1][k] += wq;
      lanes[2][k] += wq * q;
      lanes[3][k] += wx;
      lanes[4][k] += wx * q;
    }
  return combine_level_sums(lanes);
}

double super_block_error(const float* x, const float* w, const Format& f, const SuperBlock& s) {
  if (w != nullptr) return weighted_error(x, w, f, s);
  static const std::vector<float> kUniform(kQKK, 1.f);
  return weighted_error(x, kUniform.data(), f, s);
}

SearchIsa default_search_isa() {
  if (cpu_features().use_avx512()) return SearchIsa::kAvx512;
  return cpu_features().use_avx2() ? SearchIsa::kAvx2 : SearchIsa::kScalar;
}

void refine(const float* x, const float* qw, const Format& f, SuperBlock& s, SearchIsa isa) {
  const SearchKernels k = search_kernels(isa);
  static const std::vector<float> kUniform(kQKK, 1.f);
  const float* w = qw != nullptr ? qw : kUniform.data();
  if (fp16_to_fp32(s.d) == 0) return;
  const double error = weighted_error(x, w, f, s);
  if (!(error > 0)) return;
  SuperBlock trial = s;
  for (int j = 0; j < f.sub_blocks(); ++j) refine_sub_block(k, x, w, f, j, trial);
  // Candidates were compared in float; keep the result only if it exactly gains.
  if (weighted_error(x, w, f, trial) < error) s = trial;
}

}  // namespace qmix::kquant
