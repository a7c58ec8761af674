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

float measure_at(MeasureFn measure, const float* x, const float* w, const Format& f,
                 const SubBlockScales& sc, uint8_t* level) {
  return measure(x, w, f, sc.dl, sc.ml, level);
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

// How hard the search works, chosen against issue #4's target (no slower than ggml's scalar
// algorithm on one thread; docs/performance.md has the measurements). The symmetric formats
// (q3_K, q6_K), whose ggml fit is cheap, get one round and a first window of ±5 % (at least ±2)
// capped at ±3, so that it and the current scale fill one lane pass of the candidate kernel.
// The affine ones (q2_K, q4_K, q5_K), whose ggml fit costs 4x more, keep three rounds and ±10 %
// (at least ±3), still below ggml's cost, for their larger gain.
struct SearchBudget {
  int rounds;
  float window;  // first scan: ±window * centre + 1
  int min_radius;
  int max_radius;
};
constexpr SearchBudget kSymmetricBudget{1, 0.05f, 2, (kMeasureLanes - 1) / 2};
constexpr SearchBudget kAffineBudget{3, 0.1f, 3, 1 << 20};

const SearchBudget& budget_of(const Format& f) {
  return f.affine() ? kAffineBudget : kSymmetricBudget;
}

int scan_radius(const Format& f, float center) {
  const SearchBudget& b = budget_of(f);
  const int radius = std::max(b.min_radius, static_cast<int>(b.window * std::fabs(center)) + 1);
  return std::min(radius, b.max_radius);
}

// The first scan of a sub-block is wide only in the search's first round: later rounds start
// from parameters that already won a wide scan, and their wide rescans bought little (on the
// golden sets q4_K's mean error ratio to ggml went 0.928 -> 0.935 while the candidates measured
// fell 2.2x; docs/performance.md has the curve).
enum class FirstScan { kWide, kNarrow };

// The kernels the search runs on (scalar or AVX2, same results).
struct SearchKernels {
  MeasureFn measure;
  MeasureCandidatesFn candidates;
  LevelSumsFn level_sums;
};

SearchKernels search_kernels(SearchIsa isa) {
  switch (isa) {
    case SearchIsa::kAvx512:
      return {measure_sub_block_avx2, measure_candidates_avx512, level_sums_avx2};
    case SearchIsa::kAvx2:
      return {measure_sub_block_avx2, measure_candidates_avx2, level_sums_avx2};
    case SearchIsa::kScalar:
      break;
  }
  return {measure_sub_block, measure_candidates, level_sums};
}

// Candidate (scale, min) pairs of one scan and their values as dequantize combines them; the
// arrays have room for the lane kernel's last, partly filled pass.
struct CandidateGrid {
  static constexpr int kMax = 1024;
  int count = 0;
  Candidate at[kMax];
  alignas(64) float dl[kMax + kCandidatePadding];
  alignas(64) float ml[kMax + kCandidatePadding];
  alignas(64) float error[kMax + kCandidatePadding];

  void add(Candidate c, float dl_c, float ml_c) {
    if (count == kMax) return;
    at[count] = c;
    dl[count] = dl_c;
    ml[count] = ml_c;
    ++count;
  }
  // Every (scale, min) of the window, the current parameters first.
  void fill(const Format& f, float d, float dmin, Candidate current, Candidate middle,
            Candidate radius) {
    count = 0;
    const SubBlockScales now = sub_block_scales(f, d, dmin, current.scale, current.min);
    add(current, now.dl, now.ml);
    for (int sc = std::max(f.min_scale, middle.scale - radius.scale);
         sc <= std::min(f.max_scale, middle.scale + radius.scale); ++sc) {
      const float dl_sc = d * static_cast<float>(sc);
      for (int m = std::max(0, middle.min - radius.min);
           m <= std::min(f.max_min, middle.min + radius.min); ++m)
        add({sc, m}, dl_sc, f.affine() ? dmin * static_cast<float>(m) : 0.f);
    }
    std::fill(dl + count, dl + count + kCandidatePadding, 0.f);
    std::fill(ml + count, ml + count + kCandidatePadding, 0.f);
  }
};

// Best integer scale/min and levels of sub-block j at the super-block's current d, dmin: tries
// every integer scale (and, for the affine formats, min: the best min moves with the scale as
// clipping at the top trades against the offset) in a window around the least-squares
// optimum of the current levels, ±10 % at first (kWide) and then ±1, until nothing changes.
// The window's errors are measured in one call (eight candidates per AVX2 pass); the first
// candidate that beats the current parameters wins, as in a sequential scan.
void refine_sub_block(const SearchKernels& k, const float* x, const float* w, const Format& f,
                      int j, FirstScan first_scan, SuperBlock& s) {
  const float d = fp16_to_fp32(s.d), dmin = fp16_to_fp32(s.dmin);
  const int offset = j * f.sub_block;
  x += offset;
  w += offset;
  uint8_t* level = s.level + offset;
  Candidate best{s.scale[j], s.min[j]};
  measure_at(k.measure, x, w, f, sub_block_scales(f, d, dmin, best.scale, best.min), level);
  CandidateGrid grid;
  for (int round = 0; round < kSubBlockRounds; ++round) {
    const SubBlockScales target = least_squares(k.level_sums, x, w, f, level);
    const float center = target.dl / d;
    if (!std::isfinite(center)) break;
    const bool wide = round == 0 && first_scan == FirstScan::kWide;
    const float min_center = f.affine() && dmin != 0 ? target.ml / dmin : 0.f;
    const Candidate middle{
        round_into(center, f.min_scale, f.max_scale),
        std::isfinite(min_center) ? round_into(min_center, 0, f.max_min) : best.min};
    const Candidate radius{wide ? scan_radius(f, center) : 1,
                           f.affine() ? (wide ? scan_radius(f, min_center) : 1) : 0};
    grid.fill(f, d, dmin, best, middle, radius);
    k.candidates(x, w, f, grid.dl, grid.ml, grid.count, grid.error);
    int winner = 0;
    for (int c = 1; c < grid.count; ++c)
      if (grid.error[c] < grid.error[winner]) winner = c;
    if (winner == 0) break;
    best = grid.at[winner];
    k.measure(x, w, f, grid.dl[winner], grid.ml[winner], level);
  }
  s.scale[j] = static_cast<int16_t>(best.scale);
  s.min[j] = static_cast<int16_t>(best.min);
}

// Weighted least-squares super-scales for the current integer scales, mins and levels.
void least_squares_super_scales(LevelSumsFn level_sums, const float* x, const float* w,
                                const Format& f, const SuperBlock& s, double* d, double* dmin) {
  // With u = scale * q and v = min per sub-block, the sums factor into each sub-block's.
  double suu = 0, suv = 0, svv = 0, sxu = 0, sxv = 0;
  for (int j = 0; j < f.sub_blocks(); ++j) {
    const int offset = j * f.sub_block;
    const LevelSums t = level_sums(x + offset, w + offset, f, s.level + offset);
    const double sc = s.scale[j], m = f.affine() ? s.min[j] : 0.0;
    suu += sc * sc * t.sqq;
    suv += sc * m * t.sq;
    svv += m * m * t.sw;
    sxu += sc * t.sxq;
    sxv += m * t.sx;
  }
  *d = fp16_to_fp32(s.d);
  *dmin = fp16_to_fp32(s.dmin);
  if (!f.affine()) {
    if (suu > 0) *d = sxu / suu;
    return;
  }
  // value = d u - dmin v: minimise Σ w (x - d u + dmin v)².
  const double det = suu * svv - suv * suv;
  if (det > 0) {
    *d = (sxu * svv - suv * sxv) / det;
    *dmin = (suv * sxu - suu * sxv) / det;
  } else if (suu > 0) {
    *d = sxu / suu;
  }
}

// Half-precision values at and next to v (finite ones only).
int half_neighbours(double v, fp16_t* out) {
  const fp16_t h = fp32_to_fp16(static_cast<float>(v));
  int n = 0;
  for (int delta = -1; delta <= 1; ++delta) {
    const int bits = h + delta;
    if (bits < 0 || bits > 0xFFFF || (bits & 0x7C00) == 0x7C00) continue;
    if (delta < 0 && (h & 0x7FFF) == 0) continue;  // below ±0 is NaN territory
    out[n++] = static_cast<fp16_t>(bits);
  }
  return n;
}

float round_all_levels(MeasureFn measure, const float* x, const float* w, const Format& f,
                       SuperBlock& s) {
  const float d = fp16_to_fp32(s.d), dmin = fp16_to_fp32(s.dmin);
  float error = 0;
  for (int j = 0; j < f.sub_blocks(); ++j) {
    const int offset = j * f.sub_block;
    error += measure_at(measure, x + offset, w + offset, f,
                        sub_block_scales(f, d, dmin, s.scale[j], s.min[j]), s.level + offset);
  }
  return error;
}

// Moves d (and dmin) to the half-precision values nearest their least-squares optimum for
// the current integer parameters, re-rounding the levels, if that lowers the error. The pairs
// are measured as candidates (one per lane) sub-block by sub-block, errors only; the levels
// are re-rounded once, for the winner.
void refine_super_scales(const SearchKernels& k, const float* x, const float* w, const Format& f,
                         SuperBlock& s) {
  double d = 0, dmin = 0;
  least_squares_super_scales(k.level_sums, x, w, f, s, &d, &dmin);
  fp16_t ds[3], dms[3];
  const int nd = half_neighbours(d, ds);
  int nm = 1;
  dms[0] = s.dmin;
  if (f.affine()) nm = half_neighbours(dmin, dms);
  // Pair 0 is the current one; a pair must beat it to be taken.
  constexpr int kPairs = 1 + 9;
  fp16_t pair_d[kPairs] = {s.d}, pair_dmin[kPairs] = {s.dmin};
  int count = 1;
  for (int a = 0; a < nd; ++a)
    for (int b = 0; b < nm; ++b) {
      pair_d[count] = ds[a];
      pair_dmin[count++] = dms[b];
    }
  alignas(64) float dl[kPairs + kCandidatePadding] = {}, ml[kPairs + kCandidatePadding] = {};
  alignas(64) float error[kPairs + kCandidatePadding], total[kPairs] = {};
  for (int j = 0; j < f.sub_blocks(); ++j) {
    for (int c = 0; c < count; ++c) {
      const SubBlockScales sc = sub_block_scales(f, fp16_to_fp32(pair_d[c]),
                                                 fp16_to_fp32(pair_dmin[c]), s.scale[j], s.min[j]);
      dl[c] = sc.dl;
      ml[c] = sc.ml;
    }
    const int offset = j * f.sub_block;
    k.candidates(x + offset, w + offset, f, dl, ml, count, error);
    for (int c = 0; c < count; ++c) total[c] += error[c];
  }
  int winner = 0;
  for (int c = 1; c < count; ++c)
    if (total[c] < total[winner]) winner = c;
  if (winner == 0) return;
  s.d = pair_d[winner];
  s.dmin = pair_dmin[winner];
  round_all_levels(k.measure, x, w, f, s);
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
    const float v = std::min(std::max(0.f, (x[i] + shift) * inverse + bias), top);  // NaN → 0
    const int l = scale_fit::nearest_int(v);
    const float value =
        kAffine ? dl * static_cast<float>(l) - ml : dl * static_cast<float>(l - f.bias);
    const float diff = x[i] - value;
    error += w[i] * diff * diff;
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
  double error = weighted_error(x, w, f, s);
  for (int round = 0; round < budget_of(f).rounds && error > 0; ++round) {
    SuperBlock trial = s;
    refine_super_scales(k, x, w, f, trial);
    const FirstScan first_scan = round == 0 ? FirstScan::kWide : FirstScan::kNarrow;
    if (fp16_to_fp32(trial.d) != 0)
      for (int j = 0; j < f.sub_blocks(); ++j) refine_sub_block(k, x, w, f, j, first_scan, trial);
    // Candidates were compared in float; keep the round only if it exactly gains.
    const double e = weighted_error(x, w, f, trial);
    if (!(e < error)) break;
    const bool small_gain = e > error * (1 - 1e-4);
    s = trial;
    error = e;
    if (small_gain) break;
  }
}

}  // namespace qmix::kquant
