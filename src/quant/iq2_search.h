// The sub-block search shared by the IQ2 and IQ3 quantizers (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS,
// IQ3_S), following ggml's quantize_row_iq2_*_impl / iq3_*_impl step for step (same float
// operations in the same order), so the reference quantizers reproduce ggml's bytes.
#pragma once

#include <cstdint>

#include "quant/iq2_lattice.h"
#include "quant/iq2_scan.h"

namespace qmix::iq2 {

// Round to nearest, ties to even, as ggml's nearest_int (valid for |f| < 2^22).
int nearest_int(float f);

// ggml's make_qp_quants: a weighted scale for non-negative levels 0..nmax (IQ2_XXS's start).
// L is stored as bytes, wrapping like ggml's, because later steps read it back.
float make_qp_quants(int n, int nmax, const float* x, uint8_t* L, const float* weight);

enum class SignBits {
  kSevenWithParity,  // IQ2_XXS/XS: 7 bits stored, the 8th implied by an even count of minus signs
  kEight,            // IQ2_S: all 8 stored
};

// Splits n values (groups of 8) into magnitudes and sign bits. With kSevenWithParity a group
// with an odd number of negatives keeps the least important one (smallest weight*x*x) negative
// in xval, so the stored bits describe the rest.
void fold_signs(const float* x, const float* weight, int n, SignBits bits, float* xval,
                uint8_t* signs);

// Sequential sum of squares (ggml's order).
float sum_squares(const float* x, int n);

// ggml's importance weights from an imatrix: qw * sqrt(sigma2 + x^2).
void imatrix_weights(const float* x, const float* qw, float sigma2, int n, float* weight);

// Largest of n values (ggml's MAX reduction, first element first).
float max_of(const float* v, int n);

enum class Refit {
  kAllGroups,      // IQ2_XXS: re-place every group with the final scale
  kOffGridGroups,  // IQ2_XS/S, IQ3_XXS: only groups that needed a neighbour in the best trial
  // IQ3_S: every group, if any group of the best trial needed a neighbour (or no trial was
  // taken: ggml starts with every group marked off-grid).
  kAllGroupsIfAnyOffGrid,
};

struct ScaleSearch {
  int n = 0;            // values in the sub-block (16 or 32)
  float reference = 0;  // trial inverse scales are (center + step*is) / reference
  int steps = 0;        // is = -steps..steps
  Refit refit = Refit::kAllGroups;
  float initial_scale = 0;  // kept when no trial improves
  float center = 5.0f;      // 2 * (levels - 1) + 1: 5 for IQ2, 15 for IQ3
  float step = 0.1f;        // 0.1 for IQ2, 0.2 for IQ3
};

// Chooses grid points for the groups of a sub-block (groups of lattice.group_size()) and the
// sub-block scale (which may come out negative; the caller flips signs then). L receives the
// levels of the chosen points. Every isa chooses the same points (ggml's).
float search_scale(const Lattice& lattice, const ScaleSearch& search, const float* xval,
                   const float* weight, const float* waux, int8_t* L, ScanIsa isa);

// 4-bit (or 3-bit) sub-block scale code: nearest l with scale ≈ d*(2l+1), clamped to 0..max.
int scale_code(float scale, float inverse_d, int max);

}  // namespace qmix::iq2
