// Engine matmul throughput: the f32 and bf16 GEMM kernels alone, and a whole matmul over bf16
// weights on each path (dequantized panels + f32 GEMM, bf16 panels + bf16 GEMM, per-row dot
// kernels), at shapes of the anchor model.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "core/fp16.h"
#include "engine/gemm.h"
#include "engine/matmul.h"

namespace qmix {
namespace {

// One weight panel (48 rows) against `tokens` transposed activations, as the exact matmul runs.
// 2 flops per multiply-add of a tokens × rows × k product, per second of the timed loop.
benchmark::Counter gflops(int64_t multiply_adds) {
  return benchmark::Counter(2.0 * static_cast<double>(multiply_adds),
                            benchmark::Counter::kIsIterationInvariantRate,
                            benchmark::Counter::kIs1000);
}

void BM_GemmF32(benchmark::State& state, GemmFn fn) {
  const int64_t tokens = state.range(0), rows = 48, k = state.range(1);
  std::vector<float> x(static_cast<size_t>(rows * k), 0.25f),
      z(static_cast<size_t>(k * tokens), 0.5f);
  std::vector<float> c(static_cast<size_t>(tokens * rows));
  GemmArgs g{x.data(), k,    z.data(), tokens, c.data(),
             rows,     rows, tokens,   k,      GemmStore::kTransposed};
  for (auto _ : state) {
    fn(g);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOPS"] = gflops(tokens * rows * k);
}
BENCHMARK_CAPTURE(BM_GemmF32, scalar, gemm_f32_scalar)->Args({64, 1024});
BENCHMARK_CAPTURE(BM_GemmF32, avx2, gemm_f32_avx2)->Args({64, 1024})->Args({512, 3072});
BENCHMARK_CAPTURE(BM_GemmF32, avx512, gemm_f32_avx512)->Args({64, 1024})->Args({512, 3072});

// The same panel on the bf16 kernel (operands already bf16, as the bf16 path runs it).
void BM_GemmBf16(benchmark::State& state) {
  const GemmBf16Fn fn = gemm_bf16();
  if (fn == nullptr) return state.SkipWithError("CPU without AVX-512 BF16");
  const int64_t tokens = state.range(0), rows = 48, k = state.range(1);
  std::vector<bf16_t> x(static_cast<size_t>(rows * k), 0x3e80),
      z(static_cast<size_t>(packed_z_bf16_size(k, tokens)), 0x3f00);
  std::vector<float> c(static_cast<size_t>(tokens * rows));
  GemmBf16Args g{x.data(), k,      z.data(), k * kGemmPanelCols,    c.data(), rows,
                 rows,     tokens, k,        GemmStore::kTransposed};
  for (auto _ : state) {
    fn(g);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOPS"] = gflops(tokens * rows * k);
}
BENCHMARK(BM_GemmBf16)->Args({64, 1024})->Args({512, 3072});

void BM_MatmulBf16(benchmark::State& state, MatmulMode mode) {
  const int64_t tokens = state.range(0), rows = state.range(2), cols = state.range(3);
  std::vector<uint16_t> w(static_cast<size_t>(rows * cols));
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.0f, 0.02f);
  for (uint16_t& v : w) v = fp32_to_bf16(nd(rng));
  WeightRef ref;
  ref.name = "blk.0.ffn_up.weight";
  ref.type = &quant_type(GgmlType::BF16);
  ref.data = reinterpret_cast<const std::byte*>(w.data());
  ref.cols = cols;
  ref.rows = rows;
  ref.row_bytes = static_cast<uint64_t>(cols) * 2;
  std::vector<float> x(static_cast<size_t>(tokens * cols), 0.1f),
      y(static_cast<size_t>(tokens * rows));
  ThreadPool pool(static_cast<int>(state.range(1)));
  MatmulContext ctx;
  ctx.pool = &pool;
  ctx.mode = mode;
  for (auto _ : state) {
    matmul(ctx, ref, 0, x.data(), tokens, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * static_cast<double>(tokens * rows * cols),
                                                benchmark::Counter::kIsIterationInvariantRate,
                                                benchmark::Counter::kIs1000);
}
// Arguments: tokens, threads, rows, cols (ffn_up and ffn_down of the anchor shape).
BENCHMARK_CAPTURE(BM_MatmulBf16, panels_gemm, MatmulMode::kExactF32)
    ->Args({512, 1, 3072, 1024})
    ->Args({512, 1, 1024, 3072})
    ->Args({512, 2, 3072, 1024})
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_MatmulBf16, panels_bf16_gemm, MatmulMode::kBf16)
    ->Args({512, 1, 3072, 1024})
    ->Args({512, 1, 1024, 3072})
    ->Args({512, 2, 3072, 1024})
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_MatmulBf16, row_dots, MatmulMode::kQuantizedActivations)
    ->Args({512, 1, 3072, 1024})
    ->Args({512, 2, 3072, 1024})
    ->UseRealTime();

}  // namespace
}  // namespace qmix

BENCHMARK_MAIN();
