// ggml's k-quant quantizers (quantize_row_q*_K_ref without an imatrix, quantize_row_q*_K_impl
// with one), reproduced operation for operation so that the bytes match ggml's. The affine
// formats (q2_K, q4_K, q5_K) share one flow; the symmetric ones have their own.
#pragma once

#include "quant/k_quants_common.h"
#include "quant/scale_fit.h"

namespace qmix::kquant {

// What differs between the affine formats' reference quantizers.
enum class PlainWeights {
  kAbs,        // |x| (q2_K)
  kRmsPlusAbs  // sqrt(mean x^2 of the sub-block) + |x| (q4_K, q5_K)
};
struct AffineRecipe {
  Format format;
  PlainWeights plain_weights;
  scale_fit::AffineScan plain_scan;  // the imatrix path always uses kAffineScanImatrix
  float sigma2_factor;               // imatrix: sigma2 = factor * Σx² / 256
};

void reference_affine(const float* x, const float* qw, const AffineRecipe& recipe, SuperBlock& s);

// Σx² / 256 times `factor`, summed in order as ggml does.
float super_block_sigma2(const float* x, float factor);

}  // namespace qmix::kquant
