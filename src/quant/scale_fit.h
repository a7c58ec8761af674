// Scale fitting shared by the block formats (q4_0 … q5_1, iq4_nl, iq4_xs, the k-quants): the
// pieces of ggml's quantizers, reproduced operation for operation (same float evaluation
// order) so that our reference output is byte-identical with ggml's.
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

// Which kernels evaluate a fit's candidate scales: the scalar loop, or eight candidates at a
// time in AVX2 lanes (scale_fit_lanes.h); kAvx512 runs fit_affine's scan sixteen at a time
// and the other fits as kAvx2. All return the same bytes.
enum class FitIsa { kScalar, kAvx2, kAvx512 };
FitIsa default_fit_isa();  // the widest the CPU has (QMIX_NO_AVX512 / QMIX_FORCE_SCALAR narrow it)

// Mean of x^2 over a row (float accumulation in order, as ggml).
float mean_square(const float* x, int64_t n);

// ggml's importance weights for imatrix quantization: qw[i] * sqrt(sigma2 + x[i]^2).
void importance_weights(const float* x, const float* qw, float sigma2, int n, float* w);

// x ≈ d * (L[i] - nmax) with L[i] in [0, 2*nmax): ggml's make_qx_quants (rmse_type 1) with
// weights: round at -nmax/max, then try 18 nearby scales and keep the weighted
// least-squares best. Returns d; an (almost) all-zero group gives d = 0, L = 0.
float fit_symmetric(const float* x, const float* w, int n, int nmax, uint8_t* levels,
                    FitIsa isa = default_fit_isa());

// The scan of an affine fit: inverse scales (rmin + rdelta * is + nmax) / range for is in
// [0, nstep], each followed by a weighted least-squares scale and min for its levels.
enum class ErrorNorm { kSquared, kAbsolute };
enum class ScanRounding {
  kClampRounded,  // clamp(round(v), 0, nmax): ggml's make_qkx2_quants
  kRoundClamped,  // v > 0 ? round(min(v, nmax)) : 0: make_qkx3_quants (safe for huge v)
};
// Which min each step's levels are rounded at.
enum class ScanMin {
  kBestSoFar,  // the best fit's so far: ggml's (a step that moves it rescans the later ones)
  kFirst,      // the data's (min(x, 0)) for every step: one pass, no rescans (our search's start)
};
struct AffineScan {
  float rmin;
  float rdelta;
  int nstep;
  ErrorNorm norm;
  ScanRounding rounding;
  ScanMin scan_min = ScanMin::kBestSoFar;
};
// make_qkx3_quants as the imatrix quantizers call it (squared error, 36 steps from -0.9).
inline constexpr AffineScan kAffineScanImatrix{-0.9f, 0.05f, 36, ErrorNorm::kSquared,
                                               ScanRounding::kRoundClamped};

// x ≈ d * L[i] - m with L[i] in [0, nmax], m >= 0 (n <= 256): ggml's make_qkx2_quants /
// make_qkx3_quants with weights. Returns d and stores m in *offset.
float fit_affine(const float* x, const float* w, int n, int nmax, const AffineScan& scan,
                 uint8_t* levels, float* offset, FitIsa isa = default_fit_isa());
inline float fit_affine(const float* x, const float* w, int n, int nmax, uint8_t* levels,
                        float* offset) {
  return fit_affine(x, w, n, nmax, kAffineScanImatrix, levels, offset);
}

// x ≈ d * L[i] with L[i] in [0, nmax] for non-negative x (the sub-block scales and mins of
// the k-quants): ggml's make_qp_quants: the best of 9 scales near nmax/max, then up to five
// rounds of moving single levels while that improves the weighted fit. Returns d.
float fit_positive(const float* x, const float* w, int n, int nmax, uint8_t* levels);

// x ≈ d * (L[i] - nmax) with weights x^2: ggml's make_q3_quants with rmse: round at
// -nmax/max, then up to five rounds of moving single levels while that improves the fit.
float fit_symmetric_moves(const float* x, int n, int nmax, uint8_t* levels);
// fit_symmetric_moves on `groups` consecutive groups of n values, group g's result in
// scales[g] and levels + g * n; the SIMD isas fit 32 or 16 groups per pass in AVX2 lanes
// (banks of eight; AVX-512 CPUs run the same kernel), the rest scalar (same bytes).
void fit_symmetric_moves_groups(const float* x, int groups, int n, int nmax, float* scales,
                                uint8_t* levels, FitIsa isa = default_fit_isa());

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
