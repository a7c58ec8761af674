// IQ3_S (3.4375 bpw): per 32 values eight 4-value groups from a 512-point grid (8+1 index bits),
// 8 stored sign bits per 8 values and a 4-bit scale; one fp16 scale per 256.
#include <cmath>
#include <cstring>

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
using iq3::iq3s_grid;

// Sub-block ib: returns its scale. Its 8 low index bytes and 4 sign bytes go to slot `slot`
// of qs/signs, its high index bits to qh[ib]. ggml advances the qs/signs slot only past
// sub-blocks that are not all zero, so a zero sub-block shifts the later ones down (files made
// by ggml carry this, and the reference reproduces it; dequantizers read slot = ib).
float quantize_sub_block(const float* xb, const float* weight, int ib, int& slot, BlockIq3s& y,
                         ScanIsa isa) {
  float waux[32], xval[32];
  uint8_t signs[4];
  int8_t L[32];
  for (int i = 0; i < 32; ++i) waux[i] = std::sqrt(weight[i]);
  fold_signs(xb, weight, 32, SignBits::kEight, xval, signs);
  const float max = max_of(xval, 32);
  if (max == 0) return 0;
  const Lattice& grid = lattice(Codebook::kIq3s);
  const ScaleSearch search{32, max, 9, Refit::kAllGroupsIfAnyOffGrid, max / 15, 15.f, 0.2f};
  float scale = search_scale(grid, search, xval, weight, waux, L, isa);
  if (scale < 0) {
    scale = -scale;
    for (uint8_t& s : signs) s = static_cast<uint8_t>(~s);
  }
  for (int k = 0; k < 8; ++k) {
    const int index = grid.index_of(grid.code_of(L + 4 * k));
    y.qs[8 * slot + k] = static_cast<uint8_t>(index & 255);
    y.qh[ib] = static_cast<uint8_t>(y.qh[ib] | ((index >> 8) << k));
  }
  std::memcpy(y.signs + 4 * slot, signs, sizeof signs);
  ++slot;
  return scale;
}

// ggml's quantize_row_iq3_s_impl for one block; without an imatrix each value weighs x^2.
void quantize_block(const float* x, const float* qw, BlockIq3s& y, ScanIsa isa) {
  std::memset(&y, 0, sizeof y);
  float scales[8];
  float max_scale = 0;
  int slot = 0;
  const float sigma2 = 2 * sum_squares(x, kBlock) / kBlock;
  for (int ib = 0; ib < 8; ++ib) {
    const float* xb = x + 32 * ib;
    float weight[32];
    if (qw != nullptr)
      imatrix_weights(xb, qw + 32 * ib, sigma2, 32, weight);
    else
      for (int i = 0; i < 32; ++i) weight[i] = xb[i] * xb[i];
    scales[ib] = quantize_sub_block(xb, weight, ib, slot, y, isa);
    max_scale = max_scale > scales[ib] ? max_scale : scales[ib];
  }
  if (max_scale == 0) return;
  const float d = max_scale / 31;
  y.d = fp32_to_fp16(d * 1.033f);  // ggml's fudge factor
  const float id = 1 / d;
  for (int ib = 0; ib < 8; ib += 2)
    y.scales[ib / 2] = static_cast<uint8_t>(scale_code(scales[ib], id, 15) |
                                            (scale_code(scales[ib + 1], id, 15) << 4));
}

int index_of(const BlockIq3s& x, int group) {
  return x.qs[group] | (((x.qh[group / 8] >> (group % 8)) & 1) << 8);
}

GridBlock decode(const BlockIq3s& x) {
  GridBlock b;
  b.d = x.d;
  for (int ib = 0; ib < 8; ++ib)
    b.scale[static_cast<size_t>(ib)] = (x.scales[ib / 2] >> (4 * (ib % 2))) & 15;
  for (int k = 0; k < 64; ++k)
    b.index[static_cast<size_t>(k)] = static_cast<uint16_t>(index_of(x, k));
  for (int g = 0; g < 32; ++g) b.signs[static_cast<size_t>(g)] = x.signs[g];
  return b;
}

void encode(const GridBlock& b, BlockIq3s& x) {
  x.d = b.d;
  for (int ib = 0; ib < 8; ib += 2)
    x.scales[ib / 2] = static_cast<uint8_t>(b.scale[static_cast<size_t>(ib)] |
                                            (b.scale[static_cast<size_t>(ib + 1)] << 4));
  std::memset(x.qh, 0, sizeof x.qh);
  for (int k = 0; k < 64; ++k) {
    const uint16_t index = b.index[static_cast<size_t>(k)];
    x.qs[k] = static_cast<uint8_t>(index & 255);
    x.qh[k / 8] = static_cast<uint8_t>(x.qh[k / 8] | ((index >> 8) << (k % 8)));
  }
  for (int g = 0; g < 32; ++g) x.signs[g] = b.signs[static_cast<size_t>(g)];
}

constexpr GridFormat kGrid{Codebook::kIq3s, iq3::kIq3sMagnitudes, 32, false, 0.5f, 2.0f, 3};
using Rows = GridRows<BlockIq3s, kGrid, quantize_block, decode, encode>;

void dequantize(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockIq3s*>(src);
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    for (int ib = 0; ib < 8; ++ib) {
      const float db =
          d * static_cast<float>(1 + 2 * ((x[b].scales[ib / 2] >> (4 * (ib % 2))) & 15));
      for (int k = 8 * ib; k < 8 * ib + 8; ++k) {
        const uint32_t g = iq3s_grid[static_cast<size_t>(index_of(x[b], k))];
        const uint8_t signs = x[b].signs[k / 2];
        for (int j = 0; j < 4; ++j)
          dst[j] = db * static_cast<float>(iq3::grid_byte(g, j)) *
                   (signs & kmask_iq2xs[4 * (k % 2) + j] ? -1.f : 1.f);
        dst += 4;
      }
    }
  }
}

float dot(const void* weights, const void* activations, int64_t n) {
  const auto* x = static_cast<const BlockIq3s*>(weights);
  const auto* y = static_cast<const BlockQ8K*>(activations);
  float sumf = 0;
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const int8_t* q8 = y[b].qs;
    int32_t bsum = 0;
    for (int ib = 0; ib < 8; ++ib) {
      int32_t sumi = 0;
      for (int k = 8 * ib; k < 8 * ib + 8; ++k) {
        const uint32_t g = iq3s_grid[static_cast<size_t>(index_of(x[b], k))];
        const uint8_t signs = x[b].signs[k / 2];
        for (int j = 0; j < 4; ++j)
          sumi += iq3::grid_byte(g, j) * q8[j] * (signs & kmask_iq2xs[4 * (k % 2) + j] ? -1 : 1);
        q8 += 4;
      }
      bsum += sumi * (2 * ((x[b].scales[ib / 2] >> (4 * (ib % 2))) & 15) + 1);
    }
    sumf = accumulate_block(sumf, fp16_to_fp32(x[b].d), y[b].d, static_cast<float>(bsum));
  }
  return sumf;
}

}  // namespace

QuantKernels iq3_s_scalar() {
  QuantKernels k = Rows::quantizers<RowKernels::kScalar>();
  k.dequantize = dequantize;
  k.dot = dot;
  return k;
}

QuantKernels iq3_s_lane_quantizers() { return Rows::quantizers<RowKernels::kLanes>(); }

}  // namespace qmix::kernels
