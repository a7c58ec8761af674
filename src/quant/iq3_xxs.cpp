// IQ3_XXS (3.0625 bpw): per 32 values eight 4-value groups from a 256-point grid, 7 sign bits
// per 8 values (even parity) and a 4-bit scale; one fp16 scale per 256.
#include <cmath>
#include <cstring>

#include "quant/block_layouts.h"
#include "quant/iq2_blocks.h"
#include "quant/iq2_grids.h"
#include "quant/iq2_refine.h"
#include "quant/iq2_rows.h"
#include "quant/iq2_search.h"
#include "quant/iq3_grids.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using namespace qmix::iq2;
using iq3::iq3xxs_grid;

constexpr int kIndexBytes = kBlock / 4;  // grid indices come first in qs, then the words

// Sub-block of 32: returns its scale, writes its 8 grid indices and its word's sign bits.
float quantize_sub_block(const float* xb, const float* weight, uint8_t* index, uint32_t* word,
                         ScanIsa isa) {
  float waux[32], xval[32];
  uint8_t signs[4];
  int8_t L[32];
  for (int i = 0; i < 32; ++i) waux[i] = std::sqrt(weight[i]);
  fold_signs(xb, weight, 32, SignBits::kSevenWithParity, xval, signs);
  const float max = max_of(xval, 32);
  if (max < 1e-8f) return 0;  // ggml's GROUP_MAX_EPS_IQ3_XXS: indices and signs stay zero
  const Lattice& grid = lattice(Codebook::kIq3xxs);
  const ScaleSearch search{32, max, 15, Refit::kOffGridGroups, max / 15, 15.f, 0.2f};
  float scale = search_scale(grid, search, xval, weight, waux, L, isa);
  if (scale < 0) {  // ggml: "should never happen"; flip so the stored scale is positive
    scale = -scale;
    for (uint8_t& s : signs) s = static_cast<uint8_t>(~s & 127);
  }
  for (int k = 0; k < 8; ++k)
    index[k] = static_cast<uint8_t>(grid.index_of(grid.code_of(L + 4 * k)));
  for (int k = 0; k < 4; ++k) *word |= static_cast<uint32_t>(signs[k]) << (7 * k);
  return scale;
}

// ggml's quantize_row_iq3_xxs_impl for one block; without an imatrix each value weighs x^2.
void quantize_block(const float* x, const float* qw, BlockIq3xxs& y, ScanIsa isa) {
  uint8_t index[kIndexBytes] = {};
  uint32_t words[8] = {};
  float scales[8];
  float max_scale = 0;
  const float sigma2 = 2 * sum_squares(x, kBlock) / kBlock;
  for (int ib = 0; ib < 8; ++ib) {
    const float* xb = x + 32 * ib;
    float weight[32];
    if (qw != nullptr)
      imatrix_weights(xb, qw + 32 * ib, sigma2, 32, weight);
    else
      for (int i = 0; i < 32; ++i) weight[i] = xb[i] * xb[i];
    scales[ib] = quantize_sub_block(xb, weight, index + 8 * ib, words + ib, isa);
    max_scale = max_scale > scales[ib] ? max_scale : scales[ib];
  }
  std::memset(&y, 0, sizeof y);
  if (max_scale == 0) return;
  const float d = max_scale / 31;
  y.d = fp32_to_fp16(d * 1.0125f);  // ggml's fudge factor
  const float id = 1 / d;
  for (int ib = 0; ib < 8; ++ib)
    words[ib] |= static_cast<uint32_t>(scale_code(scales[ib], id, 15)) << 28;
  std::memcpy(y.qs, index, sizeof index);
  for (int ib = 0; ib < 8; ++ib) layout::store_u32_le(y.qs + kIndexBytes + 4 * ib, words[ib]);
}

uint32_t word_of(const BlockIq3xxs& x, int ib) {
  return layout::load_u32_le(x.qs + kIndexBytes + 4 * ib);
}

GridBlock decode(const BlockIq3xxs& x) {
  GridBlock b;
  b.d = x.d;
  for (int ib = 0; ib < 8; ++ib) {
    const uint32_t word = word_of(x, ib);
    b.scale[static_cast<size_t>(ib)] = static_cast<int>(word >> 28);
    for (int k = 0; k < 8; ++k) b.index[static_cast<size_t>(8 * ib + k)] = x.qs[8 * ib + k];
    for (int l = 0; l < 4; ++l)
      b.signs[static_cast<size_t>(4 * ib + l)] = ksigns_iq2xs[(word >> (7 * l)) & 127];
  }
  return b;
}

void encode(const GridBlock& b, BlockIq3xxs& x) {
  x.d = b.d;
  for (int ib = 0; ib < 8; ++ib) {
    uint32_t word = static_cast<uint32_t>(b.scale[static_cast<size_t>(ib)]) << 28;
    for (int l = 0; l < 4; ++l)
      word |= static_cast<uint32_t>(b.signs[static_cast<size_t>(4 * ib + l)] & 127) << (7 * l);
    for (int k = 0; k < 8; ++k)
      x.qs[8 * ib + k] = static_cast<uint8_t>(b.index[static_cast<size_t>(8 * ib + k)]);
    layout::store_u32_le(x.qs + kIndexBytes + 4 * ib, word);
  }
}

constexpr GridFormat kGrid{Codebook::kIq3xxs, iq3::kIq3xxsMagnitudes, 32, true, 0.5f, 0.5f, 3};
using Rows = GridRows<BlockIq3xxs, kGrid, quantize_block, decode, encode>;

void dequantize(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockIq3xxs*>(src);
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    for (int ib = 0; ib < 8; ++ib) {
      const uint32_t word = word_of(x[b], ib);
      const float db = d * (0.5f + static_cast<float>(word >> 28)) * 0.5f;
      for (int l = 0; l < 8; ++l) {  // groups of 4; sign byte l / 2
        const uint32_t g = iq3xxs_grid[x[b].qs[8 * ib + l]];
        const uint8_t signs = ksigns_iq2xs[(word >> (7 * (l / 2))) & 127];
        for (int j = 0; j < 4; ++j)
          dst[j] = db * static_cast<float>(iq3::grid_byte(g, j)) *
                   (signs & kmask_iq2xs[4 * (l % 2) + j] ? -1.f : 1.f);
        dst += 4;
      }
    }
  }
}

float dot(const void* weights, const void* activations, int64_t n) {
  const auto* x = static_cast<const BlockIq3xxs*>(weights);
  const auto* y = static_cast<const BlockQ8K*>(activations);
  float sumf = 0;
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const int8_t* q8 = y[b].qs;
    int32_t bsum = 0;
    for (int ib = 0; ib < 8; ++ib) {
      const uint32_t word = word_of(x[b], ib);
      int32_t sumi = 0;
      for (int l = 0; l < 8; ++l) {
        const uint32_t g = iq3xxs_grid[x[b].qs[8 * ib + l]];
        const uint8_t signs = ksigns_iq2xs[(word >> (7 * (l / 2))) & 127];
        for (int j = 0; j < 4; ++j)
          sumi += iq3::grid_byte(g, j) * q8[j] * (signs & kmask_iq2xs[4 * (l % 2) + j] ? -1 : 1);
        q8 += 4;
      }
      bsum += sumi * static_cast<int32_t>(2 * (word >> 28) + 1);
    }
    sumf = accumulate_block(sumf, fp16_to_fp32(x[b].d), y[b].d, static_cast<float>(bsum));
  }
  return 0.25f * sumf;
}

}  // namespace

QuantKernels iq3_xxs_scalar() {
  QuantKernels k = Rows::quantizers<RowKernels::kScalar>();
  k.dequantize = dequantize;
  k.dot = dot;
  return k;
}

QuantKernels iq3_xxs_lane_quantizers() { return Rows::quantizers<RowKernels::kLanes>(); }

}  // namespace qmix::kernels
