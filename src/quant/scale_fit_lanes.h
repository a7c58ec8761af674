// Candidate scales of the scale fits (scale_fit.cpp, iq4_common.cpp) evaluated eight at a time,
// one candidate per AVX2 lane. Each lane runs the scalar code's float steps over the values in
// the same order, so every candidate's sums (and hence the fit) are bit-identical to the scalar
// reference; only the in-order choice among candidates stays scalar.
#pragma once

#include <cstdint>

#include "quant/scale_fit.h"

namespace qmix::scale_fit::lanes {

inline constexpr int kLanes = 8;
inline constexpr int kAffineLanesAvx512 = 16;  // fit_affine's scan also runs sixteen per pass
inline constexpr int kMaxValues = 32;          // the lane kernels keep one group's levels per lane

// ---- fit_affine's scan: candidate is = first_step + k at the current min.
struct AffineBatch {
  const float* x;
  const float* w;
  int n;  // <= kMaxValues
  int nmax;
  AffineScan scan;
  float min, max;  // the group's max and the scan's current min
  float sum_w, sum_x;
  int first_step;
};
struct AffineLanes {  // room for the widest kernel; the AVX2 one fills the first eight lanes
  float scale[kAffineLanesAvx512], min[kAffineLanesAvx512], error[kAffineLanesAvx512];
  bool valid[kAffineLanesAvx512];  // false where the least-squares fit is degenerate
  alignas(64) float level[kMaxValues][kAffineLanesAvx512];
};
void affine_candidates_avx2(const AffineBatch& batch, AffineLanes& out);
void affine_candidates_avx512(const AffineBatch& batch, AffineLanes& out);

// ---- fit_symmetric's scan: weighted sums at eight inverse scales.
struct SymmetricLanes {
  float sumlx[kLanes], suml2[kLanes];
};
void symmetric_candidates_avx2(const float* x, const float* w, int n, int nmax,
                               const float* iscales, SymmetricLanes& out);

// ---- fit_symmetric_moves on `groups` (kMovesGroups or twice that) groups of n <= kMaxValues
// values (x: groups * n values), group g in lane g % 8 of bank g / 8: its scale in scales[g],
// its levels at levels + g * n.
inline constexpr int kMovesGroups = 16;
void symmetric_moves_avx2(const float* x, int groups, int n, int nmax, float* scales,
                          uint8_t* levels);

// ---- iq4's block fit: Σ w q x and Σ w q² with q the codebook value nearest id * x.
struct CodebookLanes {
  float sumqx[kLanes], sumq2[kLanes];
};
void codebook_candidates_avx2(const float* x, const float* w, int n, const int8_t* values,
                              const float* ids, CodebookLanes& out);

}  // namespace qmix::scale_fit::lanes
