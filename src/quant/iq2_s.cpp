// IQ2_S (2.5625 bpw): per 16 values two 8-value groups from a 1024-point grid (8+2 index bits),
// 8 stored sign bits per group and a 4-bit scale; one fp16 scale per 256.
#include <cmath>
#include <cstring>

#include "quant/iq2_blocks.h"
#include "quant/iq2_grids.h"
#include "quant/iq2_refine.h"
#include "quant/iq2_rows.h"
#include "quant/iq2_search.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using namespace qmix::iq2;

// Sub-block ib (16 values): returns its scale and writes its groups into y.
float quantize_sub_block(const float* xb, const float* weight, int ib, BlockIq2s& y, ScanIsa isa) {
  float waux[16], xval[16];
  uint8_t signs[2];
  int8_t L[16];
  for (int i = 0; i < 16; ++i) waux[i] = std::sqrt(weight[i]);
  fold_signs(xb, weight, 16, SignBits::kEight, xval, signs);
  const float max = max_of(xval, 16);
  if (max < 1e-8f) return 0;
  const Lattice& grid = lattice(Codebook::kIq2s);
  const ScaleSearch search{16, max, 9, Refit::kOffGridGroups, max / 5};
  float scale = search_scale(grid, search, xval, weight, waux, L, isa);
  if (scale < 0) {
    scale = -scale;
    for (uint8_t& s : signs) s = static_cast<uint8_t>(~s);
  }
  for (int k = 0; k < 2; ++k) {
    const int index = grid.index_of(code_of(L + 8 * k));
    const int group = 2 * ib + k;
    y.qs[group] = static_cast<uint8_t>(index & 255);
    y.qh[group / 4] |= static_cast<uint8_t>((index >> 8) << (2 * (group % 4)));
    y.qs[kBlock / 8 + group] = signs[k];
  }
  return scale;
}

// ggml's quantize_row_iq2_s_impl for one block; without an imatrix ggml weighs each value by
// sigma2/4 + x^2.
void quantize_block(const float* x, const float* qw, BlockIq2s& y, ScanIsa isa) {
  std::memset(&y, 0, sizeof y);
  float scales[16];
  float max_scale = 0;
  const float sigma2 = 2 * sum_squares(x, kBlock) / kBlock;
  for (int ib = 0; ib < 16; ++ib) {
    const float* xb = x + 16 * ib;
    float weight[16];
    if (qw != nullptr)
      imatrix_weights(xb, qw + 16 * ib, sigma2, 16, weight);
    else
      for (int i = 0; i < 16; ++i) weight[i] = 0.25f * sigma2 + xb[i] * xb[i];
    scales[ib] = quantize_sub_block(xb, weight, ib, y, isa);
    max_scale = max_scale > scales[ib] ? max_scale : scales[ib];
  }
  if (max_scale == 0) return;
  const float d = max_scale / 31;
  y.d = fp32_to_fp16(d * 0.9875f);
  const float id = 1 / d;
  for (int ib = 0; ib < 16; ++ib)
    y.scales[ib / 2] |= static_cast<uint8_t>(scale_code(scales[ib], id, 15) << (4 * (ib % 2)));
}

GridBlock decode(const BlockIq2s& x) {
  GridBlock b;
  b.d = x.d;
  for (int sub = 0; sub < 16; ++sub)
    b.scale[static_cast<size_t>(sub)] = (x.scales[sub / 2] >> (4 * (sub % 2))) & 15;
  for (int k = 0; k < 32; ++k) {
    b.index[static_cast<size_t>(k)] =
        static_cast<uint16_t>(x.qs[k] | (((x.qh[k / 4] >> (2 * (k % 4))) & 3) << 8));
    b.signs[static_cast<size_t>(k)] = x.qs[kBlock / 8 + k];
  }
  return b;
}

void encode(const GridBlock& b, BlockIq2s& x) {
  x.d = b.d;
  for (int sub = 0; sub < 16; sub += 2)
    x.scales[sub / 2] = static_cast<uint8_t>(b.scale[static_cast<size_t>(sub)] |
                                             (b.scale[static_cast<size_t>(sub + 1)] << 4));
  std::memset(x.qh, 0, sizeof x.qh);
  for (int k = 0; k < 32; ++k) {
    const uint16_t index = b.index[static_cast<size_t>(k)];
    x.qs[k] = static_cast<uint8_t>(index & 255);
    x.qh[k / 4] = static_cast<uint8_t>(x.qh[k / 4] | ((index >> 8) << (2 * (k % 4))));
    x.qs[kBlock / 8 + k] = b.signs[static_cast<size_t>(k)];
  }
}

constexpr GridFormat kGrid{Codebook::kIq2s, kIq2Magnitudes, 16, false, 0.5f, 0.25f, 2};
using Rows = GridRows<BlockIq2s, kGrid, quantize_block, decode, encode>;

uint64_t grid_of(const BlockIq2s& x, int group) {
  const int high = (x.qh[group / 4] << (8 - 2 * (group % 4))) & 0x300;
  return iq2s_grid[static_cast<size_t>(x.qs[group] | high)];
}

void dequantize(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockIq2s*>(src);
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    for (int ib = 0; ib < 8; ++ib) {
      const float db[2] = {d * (0.5f + static_cast<float>(x[b].scales[ib] & 0xf)) * 0.25f,
                           d * (0.5f + static_cast<float>(x[b].scales[ib] >> 4)) * 0.25f};
      for (int l = 0; l < 4; ++l) {
        const uint64_t g = grid_of(x[b], 4 * ib + l);
        const uint8_t signs = x[b].qs[kBlock / 8 + 4 * ib + l];
        for (int j = 0; j < 8; ++j)
          dst[j] = db[l / 2] * static_cast<float>(grid_byte(g, j)) *
                   (signs & kmask_iq2xs[j] ? -1.f : 1.f);
        dst += 8;
      }
    }
  }
}

int32_t group_dot(const BlockIq2s& x, int group, const int8_t* q8) {
  const uint64_t g = grid_of(x, group);
  const uint8_t signs = x.qs[kBlock / 8 + group];
  int32_t sum = 0;
  for (int j = 0; j < 8; ++j) sum += q8[j] * grid_byte(g, j) * (signs & kmask_iq2xs[j] ? -1 : 1);
  return sum;
}

float dot(const void* weights, const void* activations, int64_t n) {
  const auto* x = static_cast<const BlockIq2s*>(weights);
  const auto* y = static_cast<const BlockQ8K*>(activations);
  float sumf = 0;
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const int8_t* q8 = y[b].qs;
    int32_t bsum = 0;
    for (int ib = 0; ib < 8; ++ib) {
      const int32_t ls1 = 1 + 2 * (x[b].scales[ib] & 0xf);
      const int32_t ls2 = 1 + 2 * (x[b].scales[ib] >> 4);
      const int32_t sumi1 = group_dot(x[b], 4 * ib, q8) + group_dot(x[b], 4 * ib + 1, q8 + 8);
      const int32_t sumi2 =
          group_dot(x[b], 4 * ib + 2, q8 + 16) + group_dot(x[b], 4 * ib + 3, q8 + 24);
      bsum += ls1 * sumi1 + ls2 * sumi2;
      q8 += 32;
    }
    sumf = accumulate_block(sumf, fp16_to_fp32(x[b].d), y[b].d, static_cast<float>(bsum));
  }
  return 0.125f * sumf;
}

}  // namespace

QuantKernels iq2_s_scalar() {
  QuantKernels k = Rows::quantizers<RowKernels::kScalar>();
  k.dequantize = dequantize;
  k.dot = dot;
  return k;
}

QuantKernels iq2_s_lane_quantizers() { return Rows::quantizers<RowKernels::kLanes>(); }

}  // namespace qmix::kernels
