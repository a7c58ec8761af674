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

// Rows of the weight matrix per task (a panel): every token's activations pass once over each
// panel, so larger panels read the activations fewer times (3072 columns × 512 tokens are
// 6 MiB, past what L2 and a shared L3 keep); kPanelRows is the largest, shrunk so that each
// thread gets at least kTasksPerThread panels. A multiple of both kernels' row tiles (6, 12).
constexpr int64_t kPanelRows = 192;
constexpr int64_t kRowTile = 12;
constexpr int64_t kTasksPerThread = 4;
// Depth (columns) per GEMM pass: the pass's slice of the panel (decoded just before use) and
// its strip of activations stay in L2. A multiple of 256, the largest quantization block, so
// slices never split a block.
constexpr int64_t kDepthBlock = 256;
// Padding of a panel row: a row stride that is a multiple of 4 KiB would put the rows the
// kernel reads together into one cache set.
constexpr int64_t kPanelPad = 16;
// The bf16 path decodes a panel over its whole depth and runs one GEMM that stores straight
// into y: the panel is read again for every 32-token column tile, so it must stay in L2
// (with the 32 tokens' strip of activations), which bounds its rows.
constexpr int64_t kBf16PanelBytes = 384 * 1024;
constexpr int64_t kBf16PanelPad = 32;

struct ModeName {
  MatmulMode mode;
  std::string_view name;
};
constexpr ModeName kModeNames[] = {
    {MatmulMode::kAuto, "auto"},
    {MatmulMode::kExactF32, "f32"},
    {MatmulMode::kBf16, "bf16"},
    {MatmulMode::kQuantizedActivations, "ggml-dots"},
};

template <class Fn>
void run_parallel(const MatmulContext& ctx, int64_t n, int64_t grain, Fn&& fn) {
  if (ctx.pool)
    ctx.pool->parallel_for(n, grain, fn);
  else
    fn(0, n, 0);
}

template <class T>
void grow(std::vector<T>& v, int64_t n) {
  if (v.size() < static_cast<size_t>(n)) v.resize(static_cast<size_t>(n));
}

// Values [k0, k0 + n) of weight row r, as f32; k0 is a multiple of the type's block size.
void dequantize_slice(const WeightRef& w, int64_t expert, int64_t r, int64_t k0, int64_t n,
                      float* out) {
  const std::byte* row =
      w.row(expert, r) + static_cast<uint64_t>(k0 / w.type->block_size * w.type->block_bytes);
  active_kernels(*w.type).dequantize(row, out, n);
}

// One panel of rows [r0, r0 + nr): products[r][t] = Σ_k W[r0 + r][k] · x[t][k], a depth block
// at a time (each block's weights decoded just before use, so they are still in L2; the FMA
// chains continue across blocks, bit-identical to one pass), then written to y[t][r0 + r].
void panel_products(const WeightRef& w, int64_t expert, int64_t r0, int64_t nr, const float* xt,
                    int64_t n_tokens, MatmulWorkspace::PerThread& buf, float* y) {
  const GemmFn gemm = gemm_f32();
  const int64_t ldx = std::min(kDepthBlock, w.cols) + kPanelPad;
  grow(buf.weights, nr * ldx);
  grow(buf.products, nr * n_tokens);
  for (int64_t k0 = 0; k0 < w.cols; k0 += kDepthBlock) {
    const int64_t depth = std::min(kDepthBlock, w.cols - k0);
    for (int64_t r = 0; r < nr; ++r)
      dequantize_slice(w, expert, r0 + r, k0, depth, buf.weights.data() + r * ldx);
    GemmArgs g;
    g.x = buf.weights.data();
    g.ldx = ldx;
    g.z = xt + k0 * kGemmPanelCols;
    g.ldz = w.cols * kGemmPanelCols;
    g.c = buf.products.data();
    g.ldc = n_tokens;
    g.m = nr;
    g.n = n_tokens;
    g.k = depth;
    g.init = k0 == 0 ? GemmInit::kZero : GemmInit::kAccumulate;
    gemm(g);
  }
  for (int64_t t = 0; t < n_tokens; ++t)
    for (int64_t r = 0; r < nr; ++r)
      y[t * w.rows + r0 + r] = buf.products[static_cast<size_t>(r * n_tokens + t)];
}

// Rows of a task's panel: at most max_rows, fewer where that leaves a thread less than
// kTasksPerThread tasks; a multiple of the row tile.
int64_t task_panel_rows(int64_t rows, int64_t max_rows, int n_threads) {
  const int64_t tasks = std::max((rows + max_rows - 1) / max_rows, kTasksPerThread * n_threads);
  return ((rows + tasks - 1) / tasks + kRowTile - 1) / kRowTile * kRowTile;
}

// y = x · Wᵀ as GEMMs C = W_panel · xᵀ: each panel of weight rows is decoded once per call.
void matmul_exact(const MatmulContext& ctx, const WeightRef& w, int64_t expert, const float* x,
                  int64_t n_tokens, float* y) {
  MatmulWorkspace local;
  MatmulWorkspace& ws = ctx.workspace ? *ctx.workspace : local;
  const int n_threads = ctx.pool ? ctx.pool->size() : 1;
  grow(ws.activations_t, packed_z_size(w.cols, n_tokens));
  float* xt = ws.activations_t.data();
  run_parallel(ctx, gemm_panel_count(n_tokens), 1, [&](int64_t begin, int64_t end, int) {
    pack_z_transposed(x, w.cols, w.cols, n_tokens, xt, begin, end);
  });
  ws.threads.resize(static_cast<size_t>(std::max(n_threads, 1)));
  const int64_t panel_rows = task_panel_rows(w.rows, kPanelRows, n_threads);
  run_parallel(ctx, (w.rows + panel_rows - 1) / panel_rows, 1,
               [&](int64_t begin, int64_t end, int thread) {
                 for (int64_t p = begin; p < end; ++p) {
                   const int64_t r0 = p * panel_rows;
                   panel_products(w, expert, r0, std::min(panel_rows, w.rows - r0), xt, n_tokens,
                                  ws.threads[static_cast<size_t>(thread)], y);
                 }
               });
}

// Rows of a bf16 task's panel: the most that keep it within kBf16PanelBytes (then as
// task_panel_rows shares them out).
int64_t bf16_panel_rows(int64_t rows, int64_t ldx, int n_threads) {
  const int64_t fit =
      std::max<int64_t>(kRowTile, kBf16PanelBytes / (ldx * static_cast<int64_t>(sizeof(bf16_t))) /
                                      kRowTile * kRowTile);
  return task_panel_rows(rows, fit, n_threads);
}

// Weight rows [r0, r0 + nr) in bf16 with row stride ldx (the partner of an odd last column 0).
void decode_panel_bf16(const WeightRef& w, int64_t expert, int64_t r0, int64_t nr, int64_t ldx,
                       MatmulWorkspace::PerThread& buf) {
  grow(buf.weights, w.cols);
  grow(buf.weights_bf16, nr * ldx);
  for (int64_t r = 0; r < nr; ++r) {
    bf16_t* row = buf.weights_bf16.data() + r * ldx;
    dequantize_row(w, expert, r0 + r, buf.weights.data());
    round_row_bf16(buf.weights.data(), w.cols, row);
    if (w.cols % 2 != 0) row[w.cols] = 0;
  }
}

// y = x · Wᵀ with bf16 operands: the activations are rounded and packed once, then each
// panel of weight rows is decoded and multiplied over the whole depth, stored transposed
// straight into y.
void matmul_bf16(const MatmulContext& ctx, const WeightRef& w, int64_t expert, const float* x,
                 int64_t n_tokens, float* y, GemmBf16Fn gemm) {
  MatmulWorkspace local;
  MatmulWorkspace& ws = ctx.workspace ? *ctx.workspace : local;
  const int n_threads = ctx.pool ? ctx.pool->size() : 1;
  grow(ws.activations_bf16, packed_z_bf16_size(w.cols, n_tokens));
  bf16_t* xt = ws.activations_bf16.data();
  run_parallel(ctx, gemm_panel_count(n_tokens), 1, [&](int64_t begin, int64_t end, int) {
    pack_z_bf16_transposed(x, w.cols, w.cols, n_tokens, xt, begin, end);
  });
  ws.threads.resize(static_cast<size_t>(std::max(n_threads, 1)));
  const int64_t depth = bf16_depth(w.cols), ldx = depth + kBf16PanelPad;
  const int64_t panel_rows = bf16_panel_rows(w.rows, ldx, n_threads);
  run_parallel(ctx, (w.rows + panel_rows - 1) / panel_rows, 1,
               [&](int64_t begin, int64_t end, int thread) {
                 MatmulWorkspace::PerThread& buf = ws.threads[static_cast<size_t>(thread)];
                 for (int64_t p = begin; p < end; ++p) {
                   const int64_t r0 = p * panel_rows, nr = std::min(panel_rows, w.rows - r0);
                   decode_panel_bf16(w, expert, r0, nr, ldx, buf);
                   GemmBf16Args g;
                   g.x = buf.weights_bf16.data();
                   g.ldx = ldx;
                   g.z = xt;
                   g.ldz = depth * kGemmPanelCols;
                   g.c = y + r0;
                   g.ldc = w.rows;
                   g.m = nr;
                   g.n = n_tokens;
                   g.k = depth;
                   g.store = GemmStore::kTransposed;
                   gemm(g);
                 }
               });
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

std::string_view matmul_mode_name(MatmulMode mode) {
  for (const ModeName& m : kModeNames)
    if (m.mode == mode) return m.name;
  return "?";
}

Expected<MatmulMode> matmul_mode_by_name(std::string_view name) {
  for (const ModeName& m : kModeNames)
    if (m.name == name) return m.mode;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown matmul path '{}' (expected auto, f32, bf16 or ggml-dots)", name);
}

void matmul(const MatmulContext& ctx, const WeightRef& w, int64_t expert, const float* x,
            int64_t n_tokens, float* y) {
  MatmulMode mode = ctx.mode;
  if (mode == MatmulMode::kAuto)
    mode = w.type->is_float() ? MatmulMode::kExactF32 : MatmulMode::kBf16;
  const GemmBf16Fn bf16 = gemm_bf16();
  if (mode == MatmulMode::kBf16 && bf16 != nullptr)
    return matmul_bf16(ctx, w, expert, x, n_tokens, y, bf16);
  const bool can_dot = active_kernels(*w.type).dot != nullptr &&
                       active_kernels(quant_type(w.type->dot_partner)).quantize != nullptr;
  if (mode == MatmulMode::kQuantizedActivations && can_dot)
    matmul_quantized(ctx, w, expert, x, n_tokens, y);
  else
    matmul_exact(ctx, w, expert, x, n_tokens, y);
}

}  // namespace qmix
