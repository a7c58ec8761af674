// e^x over arrays of f32, for the many decay factors of the gated delta rule. The scalar form
// (std::exp) is the specification; the AVX2 form evaluates a degree-7 Taylor polynomial after
// the usual reduction x = n·ln2 + r, |r| ≤ ln2/2, and agrees with it to a few ulp, except that
// results below FLT_MIN (x < -87.33) are flushed to 0 instead of becoming subnormal.
#pragma once

#include <cstdint>

namespace qmix {

// x[i] = e^{x[i]} for i < n.
void exp_inplace_scalar(float* x, int64_t n);
void exp_inplace_avx2(float* x, int64_t n);  // needs AVX2+FMA

// The fastest form this CPU runs.
using ExpInplaceFn = void (*)(float* x, int64_t n);
ExpInplaceFn exp_inplace();

}  // namespace qmix
