#include "engine/matmul.h"

#include <algorithm>
#include <vector>

namespace qmix {
namespace {

// Rows of the weight matrix handed to a thread at a time: big enough to amortise scheduling,
// small enough to balance the last chunk.
constexpr int64_t kRowGrain = 16;
// Tokens processed against one weight row tile, so the activation tile stays in cache.
constexpr int64_t kTokenTile = 64;

const QuantKernels& f32_kernels() { return active_kernels(quant_type(GgmlType::F32)); }

void matmul_exact(const MatmulContext& ctx, const WeightRef& w, int64_t expert, const float* x,
                  int64_t n_tokens, float* y) {
  const DotFn dot = f32_kernels().dot;
  const int n_threads = ctx.pool ? ctx.pool->size() : 1;
  std::vector<std::vector<float>> scratch(static_cast<size_t>(n_threads),
                                          std::vector<float>(static_cast<size_t>(w.cols)));
  auto work = [&](int64_t begin, int64_t end, int thread) {
    float* row = scratch[static_cast<size_t>(thread)].data();
    for (int64_t r = begin; r < end; ++r) {
      dequantize_row(w, expert, r, row);
      for (int64_t t = 0; t < n_tokens; ++t) y[t * w.rows + r] = dot(row, x + t * w.cols, w.cols);
    }
  };
  if (ctx.pool)
    ctx.pool->parallel_for(w.rows, kRowGrain, work);
  else
    work(0, w.rows, 0);
}

// Converts activation rows to the partner format of the weights.
std::vector<std::byte> quantize_activations(const MatmulContext& ctx, const QuantType& partner,
                                            const float* x, int64_t n_tokens, int64_t cols,
                                            uint64_t* row_bytes) {
  *row_bytes = *partner.row_bytes(cols);
  std::vector<std::byte> out(*row_bytes * static_cast<uint64_t>(n_tokens));
  const QuantizeRowFn q = active_kernels(partner).quantize;
  auto work = [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t)
      q(x + t * cols, out.data() + static_cast<uint64_t>(t) * *row_bytes, cols, nullptr);
  };
  if (ctx.pool)
    ctx.pool->parallel_for(n_tokens, 8, work);
  else
    work(0, n_tokens, 0);
  return out;
}

void matmul_quantized(const MatmulContext& ctx, const WeightRef& w, int64_t expert, const float* x,
                      int64_t n_tokens, float* y) {
  const QuantType& partner = quant_type(w.type->dot_partner);
  const DotFn dot = active_kernels(*w.type).dot;
  std::vector<std::byte> xq;
  uint64_t xq_row = 0;
  const std::byte* act = reinterpret_cast<const std::byte*>(x);
  if (partner.id == GgmlType::F32) {
    xq_row = static_cast<uint64_t>(w.cols) * sizeof(float);
  } else {
    xq = quantize_activations(ctx, partner, x, n_tokens, w.cols, &xq_row);
    act = xq.data();
  }
  auto work = [&](int64_t begin, int64_t end, int) {
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenTile) {
      const int64_t t1 = std::min(n_tokens, t0 + kTokenTile);
      for (int64_t r = begin; r < end; ++r) {
        const std::byte* wrow = w.row(expert, r);
        for (int64_t t = t0; t < t1; ++t)
          y[t * w.rows + r] = dot(wrow, act + static_cast<uint64_t>(t) * xq_row, w.cols);
      }
    }
  };
  if (ctx.pool)
    ctx.pool->parallel_for(w.rows, kRowGrain, work);
  else
    work(0, w.rows, 0);
}

}  // namespace

void matmul(const MatmulContext& ctx, const WeightRef& w, int64_t expert, const float* x,
            int64_t n_tokens, float* y) {
  const bool can_dot = active_kernels(*w.type).dot != nullptr &&
                       active_kernels(quant_type(w.type->dot_partner)).quantize != nullptr;
  if (ctx.mode == MatmulMode::kExactF32 || !can_dot)
    matmul_exact(ctx, w, expert, x, n_tokens, y);
  else
    matmul_quantized(ctx, w, expert, x, n_tokens, y);
}

}  // namespace qmix
