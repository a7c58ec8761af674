// IQ1_S (1.5625 bpw): per 32 values four 8-value groups from the 2048-point {-1,0,1} grid,
// a 3-bit scale and a ±1/8 shift; one fp16 scale per 256.
#include <cfloat>
#include <cmath>
#include <cstring>

#include "quant/iq1_search.h"
#include "quant/iq2_blocks.h"
#include "quant/iq2_grids.h"
#include "quant/iq2_search.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using namespace qmix::iq2;

constexpr int kSub = 32;

struct Split {
  int i1 = -1, i2 = -1, shift = 0;  // boundaries in sorted order; shift ±1 (0: none found)
  float scale = 0;
};

// Exhaustive search over the two boundaries that split the sorted values into levels 0/1/2.
Split best_split(const float* xb, const float* weight, const int* order, float max) {
  float sumx[kSub + 1] = {}, sumw[kSub + 1] = {};
  for (int j = 0; j < kSub; ++j) {
    const int i = order[j];
    sumx[j + 1] = sumx[j] + weight[i] * xb[i];
    sumw[j + 1] = sumw[j] + weight[i];
  }
  Split best;
  best.scale = max;
  float best_score = -FLT_MAX;
  for (int i1 = 0; i1 <= kSub; ++i1) {
    for (int i2 = i1; i2 <= kSub; ++i2) {
      for (const int shift : {1, -1}) {
        const auto& v = shift == 1 ? kShiftPlus : kShiftMinus;
        const float sumqx = (sumx[i1] - sumx[0]) * v[0] + (sumx[i2] - sumx[i1]) * v[1] +
                            (sumx[kSub] - sumx[i2]) * v[2];
        const float sumq2 = (sumw[i1] - sumw[0]) * v[0] * v[0] +
                            (sumw[i2] - sumw[i1]) * v[1] * v[1] +
                            (sumw[kSub] - sumw[i2]) * v[2] * v[2];
        if (sumq2 > 0 && sumqx * sumqx > best_score * sumq2) {
          best.scale = sumqx / sumq2;
          best_score = best.scale * sumqx;
          best = {i1, i2, shift, best.scale};
        }
      }
    }
  }
  return best;
}

// Sub-block ib: writes its grid indices into y and returns its scale and shift.
float quantize_sub_block(const float* xb, const float* weight, int ib, BlockIq1s& y, int* shift) {
  *shift = 1;
  const float max = max_abs(xb, kSub);
  if (max < 1e-12f) return 0;
  int order[kSub];
  sort_indices(xb, kSub, order);
  Split split = best_split(xb, weight, order, max);
  if (split.i1 < 0 || split.i2 < 0 || split.shift == 0) return 0;
  int8_t L[kSub];
  for (int j = 0; j < kSub; ++j)
    L[order[j]] = static_cast<int8_t>(j < split.i1 ? 0 : j < split.i2 ? 1 : 2);
  if (split.scale < 0) {
    for (int8_t& l : L) l = static_cast<int8_t>(2 - l);
    split.scale = -split.scale;
    split.shift = -split.shift;
  }
  const auto& xx = split.shift == 1 ? kShiftPlus : kShiftMinus;
  const Lattice& grid = lattice(Codebook::kIq1s);
  int index[4];
  bool all_on_grid = true;
  for (int k = 0; k < 4; ++k) {
    bool on_grid = true;
    index[k] =
        place_iq1_group(grid, xb + 8 * k, weight + 8 * k, split.scale, xx, L + 8 * k, &on_grid);
    all_on_grid = all_on_grid && on_grid;
  }
  if (!all_on_grid) {
    float sumqx = 0, sumq2 = 0;
    for (int k = 0; k < 4; ++k)
      for (int j = 0; j < 8; ++j) {
        const float w = weight[8 * k + j];
        const float q = xx[static_cast<size_t>(grid.levels(index[k])[static_cast<size_t>(j)])];
        sumqx += w * q * xb[8 * k + j];
        sumq2 += w * q * q;
      }
    if (sumqx > 0 && sumq2 > 0) split.scale = sumqx / sumq2;
  }
  uint16_t h = 0;
  for (int k = 0; k < 4; ++k) {
    y.qs[4 * ib + k] = static_cast<uint8_t>(index[k] & 255);
    h = static_cast<uint16_t>(h | ((index[k] >> 8) << (3 * k)));
  }
  y.qh[ib] = h;
  *shift = split.shift;
  return split.scale;
}

// ggml's quantize_row_iq1_s_impl for one block. Without an imatrix (reachable only by calling
// the kernel directly; quantize_rows() refuses) every column weighs 1.
void quantize_block(const float* x, const float* qw, BlockIq1s& y) {
  std::memset(&y, 0, sizeof y);
  float scales[kBlock / kSub];
  int shifts[kBlock / kSub];
  float max_scale = 0;
  const float sigma2 = 2 * sum_squares(x, kBlock) / kBlock;
  for (int ib = 0; ib < kBlock / kSub; ++ib) {
    const float* xb = x + kSub * ib;
    float weight[kSub];
    for (int i = 0; i < kSub; ++i)
      weight[i] = (qw ? qw[kSub * ib + i] : 1.f) * std::sqrt(sigma2 + xb[i] * xb[i]);
    scales[ib] = quantize_sub_block(xb, weight, ib, y, &shifts[ib]);
    max_scale = max_scale > scales[ib] ? max_scale : scales[ib];
  }
  if (max_scale == 0) return;
  const float d = max_scale / 15;
  y.d = fp32_to_fp16(d * 1.125f);
  const float id = 1 / d;
  for (int ib = 0; ib < kBlock / kSub; ++ib) {
    const int l = scale_code(scales[ib], id, 7) | (shifts[ib] == -1 ? 8 : 0);
    y.qh[ib] = static_cast<uint16_t>(y.qh[ib] | (l << 12));
  }
}

void quantize_reference(const float* src, void* dst, int64_t n, const float* imatrix) {
  auto* y = static_cast<BlockIq1s*>(dst);
  for (int64_t b = 0; b < n / kBlock; ++b)
    quantize_block(src + b * kBlock, imatrix ? imatrix + b * kBlock : nullptr, y[b]);
}

uint64_t grid_of(const BlockIq1s& x, int ib, int l) {
  return iq1s_grid[static_cast<size_t>(x.qs[4 * ib + l] | (((x.qh[ib] >> (3 * l)) & 7) << 8))];
}

void dequantize(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockIq1s*>(src);
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    for (int ib = 0; ib < 8; ++ib) {
      const float dl = d * static_cast<float>(2 * ((x[b].qh[ib] >> 12) & 7) + 1);
      const float delta = x[b].qh[ib] & 0x8000 ? -kIq1Delta : kIq1Delta;
      for (int l = 0; l < 4; ++l) {
        const uint64_t g = grid_of(x[b], ib, l);
        for (int j = 0; j < 8; ++j)
          dst[j] = dl * (static_cast<float>(static_cast<int8_t>(grid_byte(g, j))) + delta);
        dst += 8;
      }
    }
  }
}

float dot(const void* weights, const void* activations, int64_t n) {
  const auto* x = static_cast<const BlockIq1s*>(weights);
  const auto* y = static_cast<const BlockQ8K*>(activations);
  float sumf = 0;
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const int8_t* q8 = y[b].qs;
    int32_t sumi = 0, sumi1 = 0;
    for (int ib = 0; ib < 8; ++ib) {
      const int32_t ls = 2 * ((x[b].qh[ib] >> 12) & 7) + 1;
      const int32_t delta = x[b].qh[ib] & 0x8000 ? -1 : 1;
      int32_t lsum = 0;
      for (int l = 0; l < 4; ++l) {
        const uint64_t g = grid_of(x[b], ib, l);
        for (int j = 0; j < 8; ++j) lsum += q8[j] * static_cast<int8_t>(grid_byte(g, j));
        q8 += 8;
      }
      sumi += ls * lsum;
      sumi1 += ls * delta * (y[b].bsums[2 * ib] + y[b].bsums[2 * ib + 1]);
    }
    sumf = accumulate_block(sumf, fp16_to_fp32(x[b].d), y[b].d, iq1_block_sum(sumi, sumi1));
  }
  return sumf;
}

}  // namespace

QuantKernels iq1_s_scalar() {
  return {.quantize = quantize_reference,
          .quantize_reference = quantize_reference,
          .dequantize = dequantize,
          .dot = dot};
}

}  // namespace qmix::kernels
