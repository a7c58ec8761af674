// Per-type kernel throughput: one thread, scalar reference vs the active (AVX2) kernels, and
// whole tensors on 1 and all threads,
// registered from the type table so every type with kernels is measured:
//   quantize/<type>/<kernels>[/imatrix]  MB/s of f32 input (our best algorithm)
//   quantize/<type>/reference[-avx2][/imatrix]  ggml's algorithm where ours differs (scalar:
//                                        the issue #4 speed baseline)
//   dequantize/<type>/<kernels>          MB/s of f32 output
//   dot/<type>/<kernels>                 GB/s of weight bytes (one row against its partner)
//   tensor/<type>[/imatrix]/threads:<n>  MB/s of f32 input through quantize_rows() (the
//                                        library's row-parallel quantization of a whole
//                                        64 x 4096 tensor, this CPU's kernels), on 1 and on
//                                        all hardware threads
//   tensor-dequantize/<type>/threads:<n> MB/s of f32 output through dequantize_rows()
// Ratios are only meaningful between numbers of the same run (see docs/performance.md).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_pool.h"
#include "quant/block_layouts.h"
#include "quant/quantize_rows.h"
#include "quant/types.h"

namespace qmix {
namespace {

constexpr int64_t kCols = 4096;
constexpr int64_t kTensorRows = 64;

struct Data {
  std::vector<float> weights, imatrix, activations;
};

const Data& data() {
  static const Data d = [] {
    Data out;
    std::mt19937 rng(42);
    std::normal_distribution<float> gauss(0.f, 0.02f);
    std::lognormal_distribution<float> importance(0.f, 1.f);
    for (int64_t i = 0; i < kCols; ++i) {
      out.weights.push_back(gauss(rng));
      out.imatrix.push_back(importance(rng));
      out.activations.push_back(gauss(rng) * 50);
    }
    return out;
  }();
  return d;
}

std::vector<std::byte> quantized(const QuantType& type, const std::vector<float>& x) {
  std::vector<std::byte> out(*type.row_bytes(kCols));
  scalar_kernels(type).quantize_reference(x.data(), out.data(), kCols, data().imatrix.data());
  return out;
}

void quantize(benchmark::State& state, const QuantType* type, QuantizeRowFn fn, bool imatrix) {
  std::vector<std::byte> out(*type->row_bytes(kCols));
  const float* im = imatrix ? data().imatrix.data() : nullptr;
  fn(data().weights.data(), out.data(), kCols, im);  // builds any search tables
  for (auto _ : state) {
    fn(data().weights.data(), out.data(), kCols, im);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * kCols * static_cast<int64_t>(sizeof(float)));
}

void dequantize(benchmark::State& state, const QuantType* type, const QuantKernels& k) {
  const auto w = quantized(*type, data().weights);
  std::vector<float> out(kCols);
  for (auto _ : state) {
    k.dequantize(w.data(), out.data(), kCols);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * kCols * static_cast<int64_t>(sizeof(float)));
}

void dot(benchmark::State& state, const QuantType* type, const QuantKernels& k) {
  const auto w = quantized(*type, data().weights);
  const auto a = quantized(quant_type(type->dot_partner), data().activations);
  for (auto _ : state) benchmark::DoNotOptimize(k.dot(w.data(), a.data(), kCols));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.size()));
}

const std::vector<float>& tensor_weights() {
  static const std::vector<float> w = [] {
    std::vector<float> out(static_cast<size_t>(kTensorRows * kCols));
    std::mt19937 rng(43);
    std::normal_distribution<float> gauss(0.f, 0.02f);
    for (float& v : out) v = gauss(rng);
    return out;
  }();
  return w;
}

void quantize_tensor(benchmark::State& state, const QuantType* type, bool imatrix) {
  ThreadPool pool(static_cast<int>(state.range(0)));
  QuantizeOptions options;
  options.pool = &pool;
  std::vector<std::byte> out(*type->row_bytes(kCols) * kTensorRows);
  const std::span<const float> im =
      imatrix ? std::span<const float>(data().imatrix) : std::span<const float>();
  for (auto _ : state) {
    if (!quantize_rows(*type, tensor_weights(), kTensorRows, kCols, im, out, options).ok()) {
      state.SkipWithError("quantize_rows failed");
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * kTensorRows * kCols *
                          static_cast<int64_t>(sizeof(float)));
}

void dequantize_tensor(benchmark::State& state, const QuantType* type) {
  ThreadPool pool(static_cast<int>(state.range(0)));
  std::vector<std::byte> q(*type->row_bytes(kCols) * kTensorRows);
  QuantizeOptions options;
  options.pool = &pool;
  if (!quantize_rows(*type, tensor_weights(), kTensorRows, kCols, data().imatrix, q, options)
           .ok()) {
    state.SkipWithError("quantize_rows failed");
    return;
  }
  std::vector<float> out(static_cast<size_t>(kTensorRows * kCols));
  for (auto _ : state) {
    if (!dequantize_rows(*type, q, kTensorRows, kCols, out, &pool).ok()) {
      state.SkipWithError("dequantize_rows failed");
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * kTensorRows * kCols *
                          static_cast<int64_t>(sizeof(float)));
}

// Whole tensors on 1 and on all hardware threads.
void register_tensor_rows(const QuantType& type) {
  if (scalar_kernels(type).quantize == nullptr) return;
  const int all = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::string name(type.name);
  auto threads = [all](benchmark::internal::Benchmark* b) {
    b->Arg(1);
    if (all > 1) b->Arg(all);
    b->ArgName("threads")->UseRealTime();
  };
  if (!type.needs_imatrix)
    threads(
        benchmark::RegisterBenchmark(("tensor/" + name).c_str(), quantize_tensor, &type, false));
  if (!type.is_float())
    threads(benchmark::RegisterBenchmark(("tensor/" + name + "/imatrix").c_str(), quantize_tensor,
                                         &type, true));
  threads(benchmark::RegisterBenchmark(("tensor-dequantize/" + name).c_str(), dequantize_tensor,
                                       &type));
}

// Benchmarks receive pointers into the type table: the kernel lookups identify a type by its
// address there.
void register_type(const QuantType& type) {
  const QuantKernels& scalar = scalar_kernels(type);
  const QuantKernels& fast = active_kernels(type);
  if (scalar.quantize == nullptr || scalar.dequantize == nullptr) return;
  const std::string name(type.name);
  const bool has_simd = fast.quantize != scalar.quantize || fast.dequantize != scalar.dequantize ||
                        fast.dot != scalar.dot;
  const bool has_partner = scalar_kernels(quant_type(type.dot_partner)).quantize != nullptr;
  for (const bool simd : {false, true}) {
    if (simd && !has_simd) continue;  // nothing SIMD to measure
    const QuantKernels& k = simd ? fast : scalar;
    const std::string suffix = name + (simd ? "/avx2" : "/scalar");
    // The AVX2 rows list only the kernels that differ from the scalar ones.
    const bool own_quantize = !simd || k.quantize != scalar.quantize;
    if (!type.needs_imatrix && own_quantize)
      benchmark::RegisterBenchmark(("quantize/" + suffix).c_str(), quantize, &type, k.quantize,
                                   false);
    if (!type.is_float() && own_quantize)
      benchmark::RegisterBenchmark(("quantize/" + suffix + "/imatrix").c_str(), quantize, &type,
                                   k.quantize, true);
    // ggml's algorithm where ours searches harder (same bytes layout): the scalar rows are the
    // issue #4 baseline, ggml's algorithm as its C code runs it.
    const bool own_reference = k.quantize_reference != k.quantize &&
                               (!simd || k.quantize_reference != scalar.quantize_reference);
    if (!type.is_float() && own_reference) {
      const std::string ref = "quantize/" + name + (simd ? "/reference-avx2" : "/reference");
      if (!type.needs_imatrix)
        benchmark::RegisterBenchmark(ref.c_str(), quantize, &type, k.quantize_reference, false);
      benchmark::RegisterBenchmark((ref + "/imatrix").c_str(), quantize, &type,
                                   k.quantize_reference, true);
    }
    if (!simd || k.dequantize != scalar.dequantize)
      benchmark::RegisterBenchmark(("dequantize/" + suffix).c_str(), dequantize, &type, k);
    if (k.dot != nullptr && has_partner && (!simd || k.dot != scalar.dot))
      benchmark::RegisterBenchmark(("dot/" + suffix).c_str(), dot, &type, k);
  }
}

}  // namespace
}  // namespace qmix

int main(int argc, char** argv) {
  for (const qmix::QuantType& t : qmix::all_quant_types()) qmix::register_type(t);
  for (const qmix::QuantType& t : qmix::all_quant_types()) qmix::register_tensor_rows(t);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
