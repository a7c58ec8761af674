// q8_K: the activation format of the 256-value weight formats: one float scale and 256 int8
// values per block, plus the sums of each 16 values (bsums) that the affine formats' dot
// products use for their minimums.
#include <algorithm>
#include <cmath>

#include "quant/block_sum.h"
#include "quant/k_quants_common.h"
#include "quant/kernels.h"
#include "quant/scale_fit.h"

namespace qmix::kernels {
namespace {

using kquant::BlockQ8K;
using kquant::kQKK;

// ggml's quantize_row_q8_K_ref: the largest magnitude maps to -127 (so that its sign flips),
// values round to nearest (ties to even).
void quantize_block(const float* x, BlockQ8K& y) {
  float max = 0, amax = 0;
  for (int j = 0; j < kQKK; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  y = BlockQ8K{};
  if (amax == 0) return;
  const float iscale = -127.f / max;
  for (int j = 0; j < kQKK; ++j)
    y.qs[j] = static_cast<int8_t>(std::min(127, scale_fit::nearest_int(iscale * x[j])));
  for (int j = 0; j < kQKK / 16; ++j) {
    int sum = 0;
    for (int i = 0; i < 16; ++i) sum += y.qs[16 * j + i];
    y.bsums[j] = static_cast<int16_t>(sum);
  }
  y.d = 1 / iscale;
}

void quantize_row(const float* src, void* dst, int64_t n, const float* /*imatrix*/) {
  auto* y = static_cast<BlockQ8K*>(dst);
  for (int64_t b = 0; b < n / kQKK; ++b) quantize_block(src + b * kQKK, y[b]);
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  const auto* x = static_cast<const BlockQ8K*>(src);
  for (int64_t b = 0; b < n / kQKK; ++b, dst += kQKK)
    for (int j = 0; j < kQKK; ++j) dst[j] = x[b].d * static_cast<float>(x[b].qs[j]);
}

// ggml has no q8_K x q8_K product; ours keeps the table complete (a q8_K tensor can be run).
float dot(const void* weights, const void* activations, int64_t n) {
  const auto* x = static_cast<const BlockQ8K*>(weights);
  const auto* y = static_cast<const BlockQ8K*>(activations);
  return sum_block_contributions(n / kQKK, [&](int64_t b) {
    int32_t sum = 0;
    for (int j = 0; j < kQKK; ++j) sum += x[b].qs[j] * y[b].qs[j];
    return static_cast<float>(sum) * (x[b].d * y[b].d);
  });
}

}  // namespace

QuantKernels q8_k_scalar() {
  QuantKernels k;
  k.quantize = quantize_row;
  k.dequantize = dequantize_row;
  k.dot = dot;
  return k;
}

}  // namespace qmix::kernels
