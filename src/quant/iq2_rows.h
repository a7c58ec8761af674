// Row entry points shared by the grid quantizers (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S): ggml's
// algorithm block by block, and ours (ggml's, then iq2_refine.h), each on the scalar kernels or
// on the CPU's lanes (iq2_scan.h; same bytes either way).
//
// A format describes itself with a traits struct:
//   using Block = ...;                       the stored block
//   static constexpr GridFormat kGrid;       for the refinement
//   static void quantize_block(const float* x, const float* qw, Block& y, ScanIsa isa);
//   static GridBlock decode(const Block&);   static void encode(const GridBlock&, Block&);
#pragma once

#include <cstdint>

#include "quant/iq2_blocks.h"
#include "quant/iq2_refine.h"
#include "quant/iq2_scan.h"
#include "quant/types.h"

namespace qmix::iq2 {

enum class RowKernels { kScalar, kLanes };

inline ScanIsa scan_isa(RowKernels kernels) {
  return kernels == RowKernels::kScalar ? ScanIsa::kScalar : simd_scan_isa();
}

template <class Format, RowKernels kKernels>
void quantize_row_reference(const float* src, void* dst, int64_t n, const float* imatrix) {
  const ScanIsa isa = scan_isa(kKernels);
  auto* y = static_cast<typename Format::Block*>(dst);
  for (int64_t b = 0; b < n / kBlock; ++b)
    Format::quantize_block(src + b * kBlock, imatrix ? imatrix + b * kBlock : nullptr, y[b], isa);
}

template <class Format, RowKernels kKernels>
void quantize_row_best(const float* src, void* dst, int64_t n, const float* imatrix) {
  quantize_row_reference<Format, kKernels>(src, dst, n, imatrix);
  refine_grid_row(Format::kGrid, src, imatrix, n, static_cast<typename Format::Block*>(dst),
                  Format::decode, Format::encode, scan_isa(kKernels));
}

// The quantizer entries of a format's kernel set.
template <class Format, RowKernels kKernels>
QuantKernels grid_quantizers() {
  return {.quantize = quantize_row_best<Format, kKernels>,
          .quantize_reference = quantize_row_reference<Format, kKernels>};
}

}  // namespace qmix::iq2

namespace qmix::kernels {

// The lane quantizers of each grid format, defined next to its scalar kernels and merged into
// its AVX2 kernel set.
QuantKernels iq2_xxs_lane_quantizers();
QuantKernels iq2_xs_lane_quantizers();
QuantKernels iq2_s_lane_quantizers();
QuantKernels iq3_xxs_lane_quantizers();
QuantKernels iq3_s_lane_quantizers();

}  // namespace qmix::kernels
