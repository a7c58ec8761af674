// Scale fitting shared by the 32-value block formats (q4_0 … q5_1, iq4_nl, iq4_xs): the
// pieces of ggml's imatrix-weighted quantizers, reproduced operation for operation (same
// float evaluation order) so that our reference output is byte-identical with ggml's.
#pragma once

#include <bit>
#include <cstdint>

namespace qmix::scale_fit {

// Groups whose largest magnitude is below this are stored as zero (ggml's GROUP_MAX_EPS).
inline constexpr float kGroupMaxEps = 1e-15f;

// Rounds to the nearest integer, ties to even, the way ggml does (float add of 1.5*2^23);
// valid for |v| <= 2^22, which every caller guarantees.
inline int nearest_int(float v) {
  const float shifted = v + 12582912.f;
  return static_cast<int>(std::bit_cast<uint32_t>(shifted) & 0x007fffffu) - 0x00400000;
}

// Mean of x^2 over a row (float accumulation in order, as ggml).
float mean_square(const float* x, int64_t n);

// ggml's importance weights for imatrix quantization: qw[i] * sqrt(sigma2 + x[i]^2).
void importance_weights(const float* x, const float* qw, float sigma2, int n, float* w);

// x ≈ d * (L[i] - nmax) with L[i] in [0, 2*nmax): ggml's make_qx_quants (rmse_type 1) with
// weights: round at -nmax/max, then try 18 nearby scales and keep the weighted
// least-squares best. Returns d; an (almost) all-zero group gives d = 0, L = 0.
float fit_symmetric(const float* x, const float* w, int n, int nmax, uint8_t* levels);

// x ≈ d * L[i] - m with L[i] in [0, nmax], m >= 0: ggml's make_qkx3_quants (squared error,
// nstep 36 from rmin -0.9 in steps of 0.05). Returns d and stores m in *offset.
float fit_affine(const float* x, const float* w, int n, int nmax, uint8_t* levels, float* offset);

// Index of the entry of the 16 ascending `values` nearest to x (ties go up), as ggml's
// best_index_int8: compares 2x with the sum of neighbours, so the midpoints are exact.
inline int nearest_level_index(const int8_t* values, float x) {
  const float x2 = x + x;
  int index = 0;
  for (int step = 8; step > 0; step >>= 1) {
    const int j = index + step;
    index = x2 >= static_cast<float>(values[j - 1] + values[j]) ? j : index;
  }
  return index;
}

}  // namespace qmix::scale_fit
