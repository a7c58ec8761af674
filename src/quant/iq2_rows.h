// Row entry points shared by the grid quantizers (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S): ggml's
// algorithm block by block, and ours (ggml's, then iq2_refine.h), each on the scalar kernels or
// on the CPU's lanes (iq2_scan.h; same bytes either way).
//
// A format names its block, its GridFormat (for the refinement), its block quantizer (ggml's
// algorithm) and its conversions to and from GridBlock:
//   using Rows = GridRows<Block, kGrid, quantize_block, decode, encode>;
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

template <class Block, const GridFormat& kGrid,
          void (*kQuantizeBlock)(const float* x, const float* qw, Block& y, ScanIsa isa),
          GridBlock (*kDecode)(const Block&), void (*kEncode)(const GridBlock&, Block&)>
struct GridRows {
  template <RowKernels kKernels>
  static void reference(const float* src, void* dst, int64_t n, const float* imatrix) {
    const ScanIsa isa = scan_isa(kKernels);
    auto* y = static_cast<Block*>(dst);
    for (int64_t b = 0; b < n / kBlock; ++b)
      kQuantizeBlock(src + b * kBlock, imatrix ? imatrix + b * kBlock : nullptr, y[b], isa);
  }

  template <RowKernels kKernels>
  static void best(const float* src, void* dst, int64_t n, const float* imatrix) {
    reference<kKernels>(src, dst, n, imatrix);
    refine_grid_row(kGrid, src, imatrix, n, static_cast<Block*>(dst), kDecode, kEncode,
                    scan_isa(kKernels));
  }

  // The quantizer entries of a format's kernel set.
  template <RowKernels kKernels>
  static QuantKernels quantizers() {
    return {.quantize = best<kKernels>, .quantize_reference = reference<kKernels>};
  }
};

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
