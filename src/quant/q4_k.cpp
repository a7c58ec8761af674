// q4_K: 8 sub-blocks of 32 values, x = d * scale * q - dmin * min with 4-bit q and 6-bit
// scale and min; dot partner q8_K.
#include "quant/k_quants_common.h"
#include "quant/k_quants_reference.h"
#include "quant/k_quants_search.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using namespace kquant;

struct Q4K {
  using Block = BlockQ4K;
  static constexpr Format format = kFormatQ4K;

  static void decode(const Block& b, SuperBlock& s) {
    s.d = b.d;
    s.dmin = b.dmin;
    unpack_scales_mins(b.scales, s.scale, s.min);
    unpack_nibbles(b.qs, s.level);
  }
  static void encode(const SuperBlock& s, Block& b) {
    b.d = s.d;
    b.dmin = s.dmin;
    pack_scales_mins(s.scale, s.min, b.scales);
    pack_nibbles(s.level, b.qs);
  }
};

constexpr AffineRecipe kRecipe{
    kFormatQ4K,
    PlainWeights::kRmsPlusAbs,
    {-1.f, 0.1f, 20, scale_fit::ErrorNorm::kSquared, scale_fit::ScanRounding::kClampRounded},
    2.f};

void reference(const float* x, const float* qw, SuperBlock& s) {
  reference_affine(x, qw, kRecipe, s);
}

// The search's start without an imatrix: ggml's flow, but its scale scan takes 16 steps around
// nmax, all rounded at the data's min (one AVX-512 pass) instead of 21 steps that rescan from
// each better min (several passes). The search re-derives each sub-block's scale and min near
// its least-squares optimum anyway: golden plain error ratios 0.956/0.953/0.957 (gauss, heavy,
// edge) became 0.956/0.958/0.948, and whole-model Q4_K_M quantization took about a quarter
// less time (issue #15). ggml's bytes (quantize_reference) keep ggml's scan.
constexpr AffineRecipe kSearchStartRecipe{
    kFormatQ4K,
    PlainWeights::kRmsPlusAbs,
    {-0.75f, 0.1f, 15, scale_fit::ErrorNorm::kSquared, scale_fit::ScanRounding::kClampRounded,
     scale_fit::ScanMin::kFirst},
    2.f};

void search_start(const float* x, const float* qw, SuperBlock& s) {
  reference_affine(x, qw, qw == nullptr ? kSearchStartRecipe : kRecipe, s);
}

}  // namespace

QuantKernels q4_k_scalar() {
  QuantKernels k;
  k.quantize = quantize_row_best<Q4K, search_start>;
  k.quantize_reference = quantize_row<Q4K, reference>;
  k.dequantize = dequantize_row<Q4K>;
  k.dot = dot_row<Q4K>;
  return k;
}

}  // namespace qmix::kernels
