// The inner step of the k-quant search (k_quants_search.cpp): round a sub-block's values to
// their nearest levels at (dl, ml) and measure the weighted squared error. The scalar and the
// AVX2 versions take the same float steps, element k of each 8 adding into partial sum k, the
// partial sums combined in order, so they return the same levels and the same error.
#pragma once

#include <cstdint>

#include "quant/k_quants_common.h"

namespace qmix::kquant {

inline constexpr int kMeasureLanes = 8;

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
// steps, so both return the same errors. dl, ml and error must have room for count rounded up
// to a multiple of kMeasureLanes (the AVX2 kernel reads and writes whole passes).
using MeasureCandidatesFn = void (*)(const float* x, const float* w, const Format& f,
                                     const float* dl, const float* ml, int count, float* error);

void measure_candidates(const float* x, const float* w, const Format& f, const float* dl,
                        const float* ml, int count, float* error);
void measure_candidates_avx2(const float* x, const float* w, const Format& f, const float* dl,
                             const float* ml, int count, float* error);

}  // namespace qmix::kquant
