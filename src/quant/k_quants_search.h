// Our k-quant search: starting from ggml's result, against the error that matters
// (Σ w (x - value)², w = the imatrix or 1), each sub-block's integer scale (and min) is searched
// near its least-squares optimum at ggml's super-scales, with the levels re-rounded. The result
// is kept only when the exact error (values as dequantize computes them) goes down, so it is
// never worse than ggml's.
#pragma once

#include "quant/k_quants_common.h"

namespace qmix::kquant {

// Σ w (x - value)² of the super-block (w null: 1), the values exactly as dequantize makes them.
double super_block_error(const float* x, const float* w, const Format& f, const SuperBlock& s);

// Which kernels the search runs on; all give the same result (k_quants_measure.h). kAvx512
// measures candidates sixteen per pass and runs the AVX2 kernels for the rest.
enum class SearchIsa { kScalar, kAvx2, kAvx512 };
// The widest the CPU has (QMIX_NO_AVX512 / QMIX_FORCE_SCALAR narrow it).
SearchIsa default_search_isa();

// Lowers the error of `s` (or leaves it unchanged).
void refine(const float* x, const float* w, const Format& f, SuperBlock& s,
            SearchIsa isa = default_search_isa());

// The `quantize` entry of a format: its reference quantizer, then refine() against the
// importances (or uniform weights without an imatrix).
template <class Traits, SuperBlockQuantizer kReference>
void quantize_best_super_block(const float* x, const float* qw, SuperBlock& s) {
  kReference(x, qw, s);
  refine(x, qw, Traits::format, s);
}

template <class Traits, SuperBlockQuantizer kReference>
void quantize_row_best(const float* src, void* dst, int64_t n, const float* imatrix) {
  quantize_row<Traits, quantize_best_super_block<Traits, kReference>>(src, dst, n, imatrix);
}

}  // namespace qmix::kquant
