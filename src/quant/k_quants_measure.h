// The inner step of the k-quant search (k_quants_search.cpp): round a sub-block's values to
// their nearest levels at (dl, ml) and measure the weighted squared error. The scalar and the
// AVX2 versions take the same float steps, element k of each 8 adding into partial sum k, the
// partial sums combined in order, so they return the same levels and the same error.
#pragma once

#include <cstdint>

#include "quant/k_quants_common.h"

namespace qmix::kquant {

inline constexpr int kMeasureLanes = 8;
// Candidates per pass of the widest candidate kernel; candidate arrays are padded to it.
inline constexpr int kCandidateLanesAvx512 = 16;
inline constexpr int kCandidatePadding = kCandidateLanesAvx512;

// Levels of x[0..f.sub_block) at value = dl * level - ml (affine) or dl * (level - bias)
// (any level when dl is 0: all give the same value); returns Σ w (x - value)².
using MeasureFn = float (*)(const float* x, const float* w, const Format& f, float dl, float ml,
                            uint8_t* level);

float measure_sub_block(const float* x, const float* w, const Format& f, float dl, float ml,
                        uint8_t* level);
float measure_sub_block_avx2(const float* x, const float* w, const Format& f, float dl, float ml,
                             uint8_t* level);

// The search's candidate scales of one sub-block, errors only: candidate c has (dl[c], ml[c]),
// its levels rounded as above and error[c] = Σ w (x - value)² summed in value order. The scalar
// version takes one candidate at a time, the AVX2 one eight (one per lane) with the same float
// steps, so both return the same errors (the AVX-512 one sixteen). dl, ml and error must have
// room for count rounded up to a multiple of kCandidatePadding (the SIMD kernels read and
// write whole passes).
using MeasureCandidatesFn = void (*)(const float* x, const float* w, const Format& f,
                                     const float* dl, const float* ml, int count, float* error);

void measure_candidates(const float* x, const float* w, const Format& f, const float* dl,
                        const float* ml, int count, float* error);
void measure_candidates_avx2(const float* x, const float* w, const Format& f, const float* dl,
                             const float* ml, int count, float* error);
void measure_candidates_avx512(const float* x, const float* w, const Format& f, const float* dl,
                               const float* ml, int count, float* error);

// The scan's choice among measured candidates: the first index whose error is less than every
// error before it, i.e. what `for c: if (error[c] < error[best]) best = c` from best = 0 gives
// (a NaN never wins and, at index 0, is never beaten). The AVX-512 version finds the same index
// with a vector minimum; error must be padded as for the candidate kernels.
int first_least(const float* error, int count);
int first_least_avx512(const float* error, int count);

// Weighted sums of a sub-block's values against its levels (q = level - bias): Σw, Σwq, Σwq²,
// Σwx, Σwxq, for the search's least-squares centres. Float, element k of each 8 adding into
// partial sum k, the partial sums combined in double in order (combine_level_sums): they only
// propose a centre whose error is then measured; scalar and AVX2 give the same sums.
struct LevelSums {
  double sw = 0, sq = 0, sqq = 0, sx = 0, sxq = 0;
};
inline constexpr int kLevelSums = 5;

inline LevelSums combine_level_sums(const float (&lanes)[kLevelSums][kMeasureLanes]) {
  double t[kLevelSums] = {};
  for (int s = 0; s < kLevelSums; ++s)
    for (int k = 0; k < kMeasureLanes; ++k) t[s] += lanes[s][k];
  return {t[0], t[1], t[2], t[3], t[4]};
}

using LevelSumsFn = LevelSums (*)(const float* x, const float* w, const Format& f,
                                  const uint8_t* level);

LevelSums level_sums(const float* x, const float* w, const Format& f, const uint8_t* level);
LevelSums level_sums_avx2(const float* x, const float* w, const Format& f, const uint8_t* level);

// requantize() for a symmetric format (f.affine() false), eight values per AVX2 pass with the
// scalar loop's float steps: the same levels.
void requantize_symmetric_avx2(const float* x, const Format& f, SuperBlock& s);

}  // namespace qmix::kquant
