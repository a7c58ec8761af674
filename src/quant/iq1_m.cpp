// IQ1_M (1.75 bpw): per 16 values two 8-value groups from the 2048-point {-1,0,1} grid, each
// group with its own ±1/8 shift, and a 3-bit scale; the fp16 super-scale is spread over the
// top nibbles of the scale words.
#include <cfloat>
#include <cmath>
#include <cstring>
#include <optional>

#include "quant/iq1_search.h"
#include "quant/iq2_blocks.h"
#include "quant/iq2_grids.h"
#include "quant/iq2_search.h"
#include "quant/kernels.h"

namespace qmix::kernels {
namespace {

using namespace qmix::iq2;

constexpr int kSub = 16;
// Shift combination k of a sub-block: bit 1 = first group negative, bit 0 = second group.
constexpr uint8_t kShiftMask[4] = {0x00, 0x80, 0x08, 0x88};

const std::array<float, 3>& shift_values(int combination, int group) {
  const bool minus = group == 0 ? combination >= 2 : combination % 2 == 1;
  return minus ? kShiftMinus : kShiftPlus;
}

struct Split {
  int i1 = -1, i2 = -1, combination = -1;
  float scale = 0;
};

// Exhaustive search over the two boundaries that split the sorted values into levels 0/1/2,
// for each combination of the two groups' shifts. The sums are formed directly for every split
// in sorted order: the ggml version that made the reference files (later ggml rewrote this with
// prefix sums, which rounds differently and picks different points on near ties).
Split best_split(const float* xb, const float* weight, const int* order, float max) {
  Split best;
  best.scale = max;
  float best_score = -FLT_MAX;
  for (int i1 = 0; i1 <= kSub; ++i1) {
    for (int i2 = i1; i2 <= kSub; ++i2) {
      for (int k = 0; k < 4; ++k) {
        float sumqx = 0, sumq2 = 0;
        for (int j = 0; j < kSub; ++j) {
          const int i = order[j];
          const auto& v = shift_values(k, i < kSub / 2 ? 0 : 1);
          const float q = v[j < i1 ? 0 : j < i2 ? 1 : 2];
          sumqx += weight[i] * q * xb[i];
          sumq2 += weight[i] * q * q;
        }
        if (sumq2 > 0 && sumqx * sumqx > best_score * sumq2) {
          const float scale = sumqx / sumq2;
          best_score = scale * sumqx;
          best = {i1, i2, k, scale};
        }
      }
    }
  }
  return best;
}

// Sub-block ib: writes its grid indices into y and returns its scale and shift combination.
float quantize_sub_block(const float* xb, const float* weight, int ib, BlockIq1m& y,
                         int* combination) {
  *combination = 0;
  const float max = max_abs(xb, kSub);
  if (max < 1e-7f) return 0;
  int order[kSub];
  sort_indices(xb, kSub, order);
  Split split = best_split(xb, weight, order, max);
  if (split.i1 < 0 || split.i2 < 0 || split.combination < 0) return 0;
  int8_t L[kSub];
  for (int j = 0; j < kSub; ++j)
    L[order[j]] = static_cast<int8_t>(j < split.i1 ? 0 : j < split.i2 ? 1 : 2);
  if (split.scale < 0) {
    for (int8_t& l : L) l = static_cast<int8_t>(2 - l);
    split.scale = -split.scale;
    split.combination = 3 - split.combination;  // both shifts flip
  }
  const Lattice& grid = lattice(Codebook::kIq1s);
  int index[2];
  bool all_on_grid = true;
  for (int k = 0; k < 2; ++k) {
    bool on_grid = true;
    index[k] = place_iq1_group(grid, xb + 8 * k, weight + 8 * k, split.scale,
                               shift_values(split.combination, k), L + 8 * k, &on_grid);
    all_on_grid = all_on_grid && on_grid;
  }
  if (!all_on_grid) {
    float sumqx = 0, sumq2 = 0;
    for (int k = 0; k < 2; ++k) {
      const auto& xx = shift_values(split.combination, k);
      for (int j = 0; j < 8; ++j) {
        const float w = weight[8 * k + j];
        const float q = xx[static_cast<size_t>(grid.levels(index[k])[static_cast<size_t>(j)])];
        sumqx += w * q * xb[8 * k + j];
        sumq2 += w * q * q;
      }
    }
    if (sumqx > 0 && sumq2 > 0) split.scale = sumqx / sumq2;
  }
  y.qs[2 * ib] = static_cast<uint8_t>(index[0] & 255);
  y.qs[2 * ib + 1] = static_cast<uint8_t>(index[1] & 255);
  y.qh[ib] = static_cast<uint8_t>((index[0] >> 8) | ((index[1] >> 8) << 4));
  *combination = split.combination;
  return split.scale;
}

// ggml's importance weights; without an imatrix ggml uses x^2.
void sub_block_weights(const float* xb, const float* qw, float sigma2, float* weight) {
  if (qw != nullptr)
    imatrix_weights(xb, qw, sigma2, kSub, weight);
  else
    for (int i = 0; i < kSub; ++i) weight[i] = xb[i] * xb[i];
}

// The final super-scale: the weighted least-squares fit of all sub-blocks at their 3-bit scales.
std::optional<float> fit_super_scale(const float* x, const float* qw, float sigma2,
                                     const int* codes, const int* combinations,
                                     const BlockIq1m& y) {
  const Lattice& grid = lattice(Codebook::kIq1s);
  float sumqx = 0, sumq2 = 0;
  for (int ib = 0; ib < kBlock / kSub; ++ib) {
    const float* xb = x + kSub * ib;
    float weight[kSub];
    sub_block_weights(xb, qw ? qw + kSub * ib : nullptr, sigma2, weight);
    for (int k = 0; k < 2; ++k) {
      const auto& xx = shift_values(combinations[ib], k);
      const int index = y.qs[2 * ib + k] + ((y.qh[ib] << (8 - 4 * k)) & 0x700);
      for (int j = 0; j < 8; ++j) {
        const float w = weight[8 * k + j];
        const float q = xx[static_cast<size_t>(grid.levels(index)[static_cast<size_t>(j)])] *
                        static_cast<float>(2 * codes[ib] + 1);
        sumqx += w * q * xb[8 * k + j];
        sumq2 += w * q * q;
      }
    }
  }
  if (sumq2 > 0) return sumqx / sumq2;
  return std::nullopt;
}

// ggml's quantize_row_iq1_m_impl for one block.
void quantize_block(const float* x, const float* qw, BlockIq1m& y) {
  std::memset(&y, 0, sizeof y);
  float scales[kBlock / kSub];
  int combinations[kBlock / kSub];
  float max_scale = 0;
  const float sigma2 = 2 * sum_squares(x, kBlock) / kBlock;
  for (int ib = 0; ib < kBlock / kSub; ++ib) {
    float weight[kSub];
    sub_block_weights(x + kSub * ib, qw ? qw + kSub * ib : nullptr, sigma2, weight);
    scales[ib] = quantize_sub_block(x + kSub * ib, weight, ib, y, &combinations[ib]);
    max_scale = max_scale > scales[ib] ? max_scale : scales[ib];
  }
  if (max_scale == 0) return;
  float d = max_scale / 15;
  const float id = 1 / d;
  uint16_t sc[4] = {};
  int codes[kBlock / kSub];
  for (int ib = 0; ib < kBlock / kSub; ++ib) {
    codes[ib] = scale_code(scales[ib], id, 7);
    sc[ib / 4] = static_cast<uint16_t>(sc[ib / 4] | (codes[ib] << (3 * (ib % 4))));
    y.qh[ib] |= kShiftMask[combinations[ib]];
  }
  d = fit_super_scale(x, qw, sigma2, codes, combinations, y).value_or(d);
  const fp16_t s = fp32_to_fp16(d * 1.1125f);
  sc[0] = static_cast<uint16_t>(sc[0] | ((s & 0x000f) << 12));
  sc[1] = static_cast<uint16_t>(sc[1] | ((s & 0x00f0) << 8));
  sc[2] = static_cast<uint16_t>(sc[2] | ((s & 0x0f00) << 4));
  sc[3] = static_cast<uint16_t>(sc[3] | (s & 0xf000));
  std::memcpy(y.scales, sc, sizeof sc);
}

void quantize_reference(const float* src, void* dst, int64_t n, const float* imatrix) {
  auto* y = static_cast<BlockIq1m*>(dst);
  for (int64_t b = 0; b < n / kBlock; ++b)
    quantize_block(src + b * kBlock, imatrix ? imatrix + b * kBlock : nullptr, y[b]);
}

void dequantize(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockIq1m*>(src);
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const float d = fp16_to_fp32(iq1m_super_scale(x[b]));
    const uint8_t* qs = x[b].qs;
    const uint8_t* qh = x[b].qh;
    for (int ib = 0; ib < 8; ++ib) {
      const int sc = x[b].scales[2 * (ib / 2)] | (x[b].scales[2 * (ib / 2) + 1] << 8);
      const float dl[2] = {d * static_cast<float>(2 * ((sc >> (6 * (ib % 2))) & 7) + 1),
                           d * static_cast<float>(2 * ((sc >> (6 * (ib % 2) + 3)) & 7) + 1)};
      for (int l = 0; l < 4; ++l) {
        const uint8_t h = qh[l / 2];
        const int index = qs[l] | ((h << (8 - 4 * (l % 2))) & 0x700);
        const float delta = h & (l % 2 == 0 ? 0x08 : 0x80) ? -kIq1Delta : kIq1Delta;
        const uint64_t g = iq1s_grid[static_cast<size_t>(index)];
        for (int j = 0; j < 8; ++j)
          dst[j] = dl[l / 2] * (static_cast<float>(static_cast<int8_t>(grid_byte(g, j))) + delta);
        dst += 8;
      }
      qs += 4;
      qh += 2;
    }
  }
}

float dot(const void* weights, const void* activations, int64_t n) {
  const auto* x = static_cast<const BlockIq1m*>(weights);
  const auto* y = static_cast<const BlockQ8K*>(activations);
  float sumf = 0;
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const int8_t* q8 = y[b].qs;
    const uint8_t* qs = x[b].qs;
    const uint8_t* qh = x[b].qh;
    int32_t sumi1 = 0, sumi2 = 0;
    for (int ib = 0; ib < 8; ++ib) {
      int32_t sum1[2] = {}, sum2[2] = {};
      for (int l = 0; l < 4; ++l) {
        const uint8_t h = qh[l / 2];
        const int index = qs[l] | ((h << (8 - 4 * (l % 2))) & 0x700);
        const int32_t delta = h & (l % 2 == 0 ? 0x08 : 0x80) ? -1 : 1;
        const uint64_t g = iq1s_grid[static_cast<size_t>(index)];
        int32_t lsum1 = 0, lsum2 = 0;
        for (int j = 0; j < 8; ++j) {
          lsum1 += q8[j] * static_cast<int8_t>(grid_byte(g, j));
          lsum2 += q8[j];
        }
        q8 += 8;
        sum1[l / 2] += lsum1;
        sum2[l / 2] += lsum2 * delta;
      }
      const int sc = x[b].scales[2 * (ib / 2)] | (x[b].scales[2 * (ib / 2) + 1] << 8);
      const int32_t ls1 = 2 * ((sc >> (6 * (ib % 2))) & 7) + 1;
      const int32_t ls2 = 2 * ((sc >> (6 * (ib % 2) + 3)) & 7) + 1;
      sumi1 += sum1[0] * ls1 + sum1[1] * ls2;
      sumi2 += sum2[0] * ls1 + sum2[1] * ls2;
      qs += 4;
      qh += 2;
    }
    sumf = accumulate_block(sumf, fp16_to_fp32(iq1m_super_scale(x[b])), y[b].d,
                            iq1_block_sum(sumi1, sumi2));
  }
  return sumf;
}

}  // namespace

QuantKernels iq1_m_scalar() {
  return {.quantize = quantize_reference,
          .quantize_reference = quantize_reference,
          .dequantize = dequantize,
          .dot = dot};
}

}  // namespace qmix::kernels
