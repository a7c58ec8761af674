#include "engine/matmul.h"

#include <algorithm>
#include <vector>

#include "engine/gemm.h"

namespace qmix {
namespace {

// Rows of the weight matrix handed to a thread at a time: big enough to amortise scheduling,
// small enough to balance the last chunk.
constexpr int64_t kRowGrain = 16;
// Tokens processed against one weight row tile, so the activation tile stays in cache.
constexpr int64_t kTokenTile = 64;

// Rows of the weight matrix dequantized together into one f32 panel per task: the panel stays
// in L2 while every token passes over it; a multiple of the GEMM kernels' row tiles (6, 12).
constexpr int64_t kPanelRows = 48;
// Padding of a panel row: a row stride that is a multiple of 4 KiB would put the rows the
// kernel reads together into one cache set.
constexpr int64_t kPanelPad = 16;

template <class Fn>
void run_parallel(const MatmulContext& ctx, int64_t n, int64_t grain, Fn&& fn) {
  if (ctx.pool)
    ctx.pool->parallel_for(n, grain, fn);
  else
    fn(0, n, 0);
}

// y = x · Wᵀ as the GEMM C = W_panel · xᵀ stored transposed: each panel of weight rows is
// decoded once per call and every token reads it from cache.
void matmul_exact(const MatmulContext& ctx, const WeightRef& w, int64_t expert, const float* x,
                  int64_t n_tokens, float* y) {
  MatmulWorkspace local;
  MatmulWorkspace& ws = ctx.workspace ? *ctx.workspace : local;
  const int n_threads = ctx.pool ? ctx.pool->size() : 1;
  const auto need = static_cast<size_t>(packed_z_size(w.cols, n_tokens));
  if (ws.activations_t.size() < need) ws.activations_t.resize(need);
  float* xt = ws.activations_t.data();
  run_parallel(ctx, (n_tokens + kGemmPanelCols - 1) / kGemmPanelCols, 1,
               [&](int64_t begin, int64_t end, int) {
                 pack_z_transposed(x, w.cols, w.cols, n_tokens, xt, begin, end);
               });
  const int64_t ldx = w.cols + kPanelPad;
  ws.panels.resize(static_cast<size_t>(std::max(n_threads, 1)));
  const GemmFn gemm = gemm_f32();
  auto work = [&](int64_t begin, int64_t end, int thread) {
    std::vector<float>& panel = ws.panels[static_cast<size_t>(thread)];
    if (panel.size() < static_cast<size_t>(kPanelRows * ldx))
      panel.resize(static_cast<size_t>(kPanelRows * ldx));
    for (int64_t p = begin; p < end; ++p) {
      const int64_t r0 = p * kPanelRows, nr = std::min(kPanelRows, w.rows - r0);
      for (int64_t r = 0; r < nr; ++r) dequantize_row(w, expert, r0 + r, panel.data() + r * ldx);
      GemmArgs g;
      g.x = panel.data();
      g.ldx = ldx;
      g.z = xt;
      g.ldz = w.cols * kGemmPanelCols;
      g.c = y + r0;
      g.ldc = w.rows;
      g.m = nr;
      g.n = n_tokens;
      g.k = w.cols;
      g.store = GemmStore::kTransposed;
      gemm(g);
    }
  };
  run_parallel(ctx, (w.rows + kPanelRows - 1) / kPanelRows, 1, work);
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
