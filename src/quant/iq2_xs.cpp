// IQ2_XS (2.3125 bpw): per 16 values two 8-value groups from a 512-point grid (9-bit index and
// 7 sign bits with even parity in one uint16) and a 4-bit scale; one fp16 scale per 256.
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

// Sub-block of 16: returns its scale and stores the two group codes into q2[0..1].
float quantize_sub_block(const float* xb, const float* weight, uint16_t* q2, ScanIsa isa) {
  float waux[16], xval[16];
  uint8_t signs[2];
  int8_t L[16];
  for (int i = 0; i < 16; ++i) waux[i] = std::sqrt(weight[i]);
  fold_signs(xb, weight, 16, SignBits::kSevenWithParity, xval, signs);
  const float max = max_of(xval, 16);
  if (max < 1e-15f) return 0;
  const Lattice& grid = lattice(Codebook::kIq2xs);
  const ScaleSearch search{16, max, 9, Refit::kOffGridGroups, max / 5};
  float scale = search_scale(grid, search, xval, weight, waux, L, isa);
  if (scale < 0) {
    scale = -scale;
    for (uint8_t& s : signs) s = static_cast<uint8_t>(~s & 127);
  }
  for (int k = 0; k < 2; ++k)
    q2[k] = static_cast<uint16_t>(grid.index_of(code_of(L + 8 * k)) | (signs[k] << 9));
  return scale;
}

// ggml's quantize_row_iq2_xs_impl for one block. Without an imatrix (reachable only by calling
// the kernel directly; quantize_rows() refuses) every column weighs 1.
void quantize_block(const float* x, const float* qw, BlockIq2xs& y, ScanIsa isa) {
  uint16_t q2[32] = {};
  float scales[16];
  float max_scale = 0;
  const float sigma2 = sum_squares(x, kBlock) / kBlock;
  for (int ib = 0; ib < 16; ++ib) {
    const float* xb = x + 16 * ib;
    float weight[16];
    for (int i = 0; i < 16; ++i)
      weight[i] = (qw ? qw[16 * ib + i] : 1.f) * std::sqrt(sigma2 + xb[i] * xb[i]);
    scales[ib] = quantize_sub_block(xb, weight, q2 + 2 * ib, isa);
    max_scale = max_scale > scales[ib] ? max_scale : scales[ib];
  }
  std::memset(&y, 0, sizeof y);
  if (max_scale == 0) return;
  const float d = max_scale / 31;
  y.d = fp32_to_fp16(d);
  const float id = 1 / d;
  for (int ib = 0; ib < 16; ++ib)
    y.scales[ib / 2] |= static_cast<uint8_t>(scale_code(scales[ib], id, 15) << (4 * (ib % 2)));
  std::memcpy(y.qs, q2, sizeof q2);
}

GridBlock decode(const BlockIq2xs& x) {
  GridBlock b;
  b.d = x.d;
  for (int sub = 0; sub < 16; ++sub)
    b.scale[static_cast<size_t>(sub)] = (x.scales[sub / 2] >> (4 * (sub % 2))) & 15;
  for (int k = 0; k < 32; ++k) {
    b.index[static_cast<size_t>(k)] = static_cast<uint16_t>(x.qs[k] & 511);
    b.signs[static_cast<size_t>(k)] = ksigns_iq2xs[x.qs[k] >> 9];
  }
  return b;
}

void encode(const GridBlock& b, BlockIq2xs& x) {
  x.d = b.d;
  for (int sub = 0; sub < 16; sub += 2)
    x.scales[sub / 2] = static_cast<uint8_t>(b.scale[static_cast<size_t>(sub)] |
                                             (b.scale[static_cast<size_t>(sub + 1)] << 4));
  for (int k = 0; k < 32; ++k)
    x.qs[k] = static_cast<uint16_t>(b.index[static_cast<size_t>(k)] |
                                    ((b.signs[static_cast<size_t>(k)] & 127) << 9));
}

constexpr GridFormat kGrid{Codebook::kIq2xs, kIq2Magnitudes, 16, true, 0.5f, 0.25f, 3};
using Rows = GridRows<BlockIq2xs, kGrid, quantize_block, decode, encode>;

void dequantize(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockIq2xs*>(src);
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    for (int ib = 0; ib < 8; ++ib) {
      const float db[2] = {d * (0.5f + static_cast<float>(x[b].scales[ib] & 0xf)) * 0.25f,
                           d * (0.5f + static_cast<float>(x[b].scales[ib] >> 4)) * 0.25f};
      for (int l = 0; l < 4; ++l) {
        const uint16_t q = x[b].qs[4 * ib + l];
        const uint64_t g = iq2xs_grid[q & 511];
        const uint8_t signs = ksigns_iq2xs[q >> 9];
        for (int j = 0; j < 8; ++j)
          dst[j] = db[l / 2] * static_cast<float>(grid_byte(g, j)) *
                   (signs & kmask_iq2xs[j] ? -1.f : 1.f);
        dst += 8;
      }
    }
  }
}

// Signed sum of 8 activations times one grid group.
int32_t group_dot(uint16_t q, const int8_t* q8) {
  const uint64_t g = iq2xs_grid[q & 511];
  const uint8_t signs = ksigns_iq2xs[q >> 9];
  int32_t sum = 0;
  for (int j = 0; j < 8; ++j) sum += grid_byte(g, j) * q8[j] * (signs & kmask_iq2xs[j] ? -1 : 1);
  return sum;
}

float dot(const void* weights, const void* activations, int64_t n) {
  const auto* x = static_cast<const BlockIq2xs*>(weights);
  const auto* y = static_cast<const BlockQ8K*>(activations);
  float sumf = 0;
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const uint16_t* q2 = x[b].qs;
    const int8_t* q8 = y[b].qs;
    int32_t bsum = 0;
    for (int ib = 0; ib < 8; ++ib) {
      const int32_t ls1 = 2 * (x[b].scales[ib] & 0xf) + 1;
      const int32_t ls2 = 2 * (x[b].scales[ib] >> 4) + 1;
      bsum += (group_dot(q2[0], q8) + group_dot(q2[1], q8 + 8)) * ls1;
      bsum += (group_dot(q2[2], q8 + 16) + group_dot(q2[3], q8 + 24)) * ls2;
      q2 += 4;
      q8 += 32;
    }
    sumf = accumulate_block(sumf, fp16_to_fp32(x[b].d), y[b].d, static_cast<float>(bsum));
  }
  return 0.125f * sumf;
}

}  // namespace

QuantKernels iq2_xs_scalar() {
  QuantKernels k = Rows::quantizers<RowKernels::kScalar>();
  k.dequantize = dequantize;
  k.dot = dot;
  return k;
}

QuantKernels iq2_xs_lane_quantizers() { return Rows::quantizers<RowKernels::kLanes>(); }

}  // namespace qmix::kernels
