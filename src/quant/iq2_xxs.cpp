// IQ2_XXS (2.0625 bpw): per 32 values four 8-value groups from a 256-point grid, 7 sign bits
// per group (even parity) and a 4-bit scale; one fp16 scale per 256.
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

// Sub-block of 32: returns its scale and stores grid bytes and signs into q2[0..1].
float quantize_sub_block(const float* xb, const float* weight, uint32_t* q2, ScanIsa isa) {
  float waux[32], xval[32];
  uint8_t signs[4];
  int8_t L[32];
  for (int i = 0; i < 32; ++i) waux[i] = std::sqrt(weight[i]);
  fold_signs(xb, weight, 32, SignBits::kSevenWithParity, xval, signs);
  if (max_of(xval, 32) < 1e-15f) return 0;
  uint8_t start_levels[32];
  const float start = make_qp_quants(32, 4, xval, start_levels, weight);
  const float eff_max = start * 3;
  if (eff_max <= 0) return 0;
  const Lattice& grid = lattice(Codebook::kIq2xxs);
  const ScaleSearch search{32, eff_max, 6, Refit::kAllGroups, start};
  float scale = search_scale(grid, search, xval, weight, waux, L, isa);
  if (scale < 0) {  // ggml: "should never happen"; flip so the stored scale is positive
    scale = -scale;
    for (uint8_t& s : signs) s = static_cast<uint8_t>(~s & 127);
  }
  for (int k = 0; k < 4; ++k) {
    q2[0] |= static_cast<uint32_t>(grid.index_of(code_of(L + 8 * k))) << (8 * k);
    q2[1] |= static_cast<uint32_t>(signs[k]) << (7 * k);
  }
  return scale;
}

// ggml's quantize_row_iq2_xxs_impl for one block. Without an imatrix (reachable only by calling
// the kernel directly; quantize_rows() refuses) every column weighs 1.
void quantize_block(const float* x, const float* qw, BlockIq2xxs& y, ScanIsa isa) {
  uint32_t q2[16] = {};
  float scales[8];
  float max_scale = 0;
  const float sigma2 = sum_squares(x, kBlock) / kBlock;
  for (int ib = 0; ib < 8; ++ib) {
    const float* xb = x + 32 * ib;
    float weight[32];
    for (int i = 0; i < 32; ++i)
      weight[i] = (qw ? qw[32 * ib + i] : 1.f) * std::sqrt(sigma2 + xb[i] * xb[i]);
    scales[ib] = quantize_sub_block(xb, weight, q2 + 2 * ib, isa);
    max_scale = max_scale > scales[ib] ? max_scale : scales[ib];
  }
  std::memset(&y, 0, sizeof y);
  if (max_scale == 0) return;
  const float d = max_scale / 31;
  y.d = fp32_to_fp16(d);
  const float id = 1 / d;
  for (int ib = 0; ib < 8; ++ib)
    q2[2 * ib + 1] |= static_cast<uint32_t>(scale_code(scales[ib], id, 15)) << 28;
  std::memcpy(y.qs, q2, sizeof q2);
}

GridBlock decode(const BlockIq2xxs& x) {
  GridBlock b;
  b.d = x.d;
  for (int ib = 0; ib < 8; ++ib) {
    uint32_t aux[2];
    std::memcpy(aux, x.qs + 4 * ib, sizeof aux);
    b.scale[static_cast<size_t>(ib)] = static_cast<int>(aux[1] >> 28);
    for (int l = 0; l < 4; ++l) {
      b.index[static_cast<size_t>(4 * ib + l)] = static_cast<uint16_t>((aux[0] >> (8 * l)) & 255);
      b.signs[static_cast<size_t>(4 * ib + l)] = ksigns_iq2xs[(aux[1] >> (7 * l)) & 127];
    }
  }
  return b;
}

void encode(const GridBlock& b, BlockIq2xxs& x) {
  x.d = b.d;
  for (int ib = 0; ib < 8; ++ib) {
    uint32_t aux[2] = {0, static_cast<uint32_t>(b.scale[static_cast<size_t>(ib)]) << 28};
    for (int l = 0; l < 4; ++l) {
      aux[0] |= static_cast<uint32_t>(b.index[static_cast<size_t>(4 * ib + l)]) << (8 * l);
      aux[1] |= static_cast<uint32_t>(b.signs[static_cast<size_t>(4 * ib + l)] & 127) << (7 * l);
    }
    std::memcpy(x.qs + 4 * ib, aux, sizeof aux);
  }
}

constexpr GridFormat kGrid{Codebook::kIq2xxs, kIq2Magnitudes, 32, true, 0.5f, 0.25f, 3};
using Rows = GridRows<BlockIq2xxs, kGrid, quantize_block, decode, encode>;

void dequantize(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockIq2xxs*>(src);
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    for (int ib = 0; ib < 8; ++ib) {
      uint32_t aux[2];
      std::memcpy(aux, x[b].qs + 4 * ib, sizeof aux);
      const float db = d * (0.5f + static_cast<float>(aux[1] >> 28)) * 0.25f;
      for (int l = 0; l < 4; ++l) {
        const uint64_t g = iq2xxs_grid[(aux[0] >> (8 * l)) & 255];
        const uint8_t signs = ksigns_iq2xs[(aux[1] >> (7 * l)) & 127];
        for (int j = 0; j < 8; ++j)
          dst[j] = db * static_cast<float>(grid_byte(g, j)) * (signs & kmask_iq2xs[j] ? -1.f : 1.f);
        dst += 8;
      }
    }
  }
}

float dot(const void* weights, const void* activations, int64_t n) {
  const auto* x = static_cast<const BlockIq2xxs*>(weights);
  const auto* y = static_cast<const BlockQ8K*>(activations);
  float sumf = 0;
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const int8_t* q8 = y[b].qs;
    int32_t bsum = 0;
    for (int ib = 0; ib < 8; ++ib) {
      uint32_t aux[2];
      std::memcpy(aux, x[b].qs + 4 * ib, sizeof aux);
      int32_t sumi = 0;
      for (int l = 0; l < 4; ++l) {
        const uint64_t g = iq2xxs_grid[(aux[0] >> (8 * l)) & 255];
        const uint8_t signs = ksigns_iq2xs[(aux[1] >> (7 * l)) & 127];
        for (int j = 0; j < 8; ++j)
          sumi += grid_byte(g, j) * q8[j] * (signs & kmask_iq2xs[j] ? -1 : 1);
        q8 += 8;
      }
      bsum += sumi * static_cast<int32_t>(2 * (aux[1] >> 28) + 1);
    }
    sumf = accumulate_block(sumf, fp16_to_fp32(x[b].d), y[b].d, static_cast<float>(bsum));
  }
  return 0.125f * sumf;
}

}  // namespace

QuantKernels iq2_xxs_scalar() {
  QuantKernels k = Rows::quantizers<RowKernels::kScalar>();
  k.dequantize = dequantize;
  k.dot = dot;
  return k;
}

QuantKernels iq2_xxs_lane_quantizers() { return Rows::quantizers<RowKernels::kLanes>(); }

}  // namespace qmix::kernels
