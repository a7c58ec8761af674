// IQ2/IQ1 family: quantization throughput (with an imatrix; our search vs ggml's reference
// algorithm) and dot-product throughput (scalar vs AVX2) against Q8_K activations.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "quant/iq2_blocks.h"
#include "quant/types.h"

namespace qmix {
namespace {

constexpr int64_t kCols = 4096;

struct Data {
  std::vector<float> weights, imatrix;
  std::vector<std::byte> activations;  // Q8_K
};

const Data& data() {
  static const Data d = [] {
    Data out;
    std::mt19937 rng(42);
    std::normal_distribution<float> gauss(0.f, 0.02f);
    std::lognormal_distribution<float> importance(0.f, 1.f);
    std::uniform_int_distribution<int> q8(-127, 127);
    for (int64_t i = 0; i < kCols; ++i) {
      out.weights.push_back(gauss(rng));
      out.imatrix.push_back(importance(rng));
    }
    // Random Q8_K blocks: only their layout matters for timing.
    out.activations.resize(kCols / iq2::kBlock * sizeof(iq2::BlockQ8K));
    auto* blocks = reinterpret_cast<iq2::BlockQ8K*>(out.activations.data());
    for (int64_t i = 0; i < kCols / iq2::kBlock; ++i) {
      iq2::BlockQ8K& b = blocks[i];
      b.d = 0.01f;
      for (int j = 0; j < iq2::kBlock; ++j) b.qs[j] = static_cast<int8_t>(q8(rng));
      for (int j = 0; j < iq2::kBlock / 16; ++j) {
        int sum = 0;
        for (int i = 0; i < 16; ++i) sum += b.qs[16 * j + i];
        b.bsums[j] = static_cast<int16_t>(sum);
      }
    }
    return out;
  }();
  return d;
}

void quantize(benchmark::State& state, GgmlType id, bool reference) {
  const QuantType& type = quant_type(id);
  const QuantKernels& k = active_kernels(type);
  const QuantizeRowFn fn = reference ? k.quantize_reference : k.quantize;
  std::vector<std::byte> out(*type.row_bytes(kCols));
  const Data& d = data();
  fn(d.weights.data(), out.data(), kCols, d.imatrix.data());  // builds the search tables
  for (auto _ : state) {
    fn(d.weights.data(), out.data(), kCols, d.imatrix.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * kCols * static_cast<int64_t>(sizeof(float)));
}

void dot(benchmark::State& state, GgmlType id, bool simd) {
  const QuantType& type = quant_type(id);
  const QuantKernels& k = simd ? active_kernels(type) : scalar_kernels(type);
  std::vector<std::byte> w(*type.row_bytes(kCols));
  const Data& d = data();
  scalar_kernels(type).quantize_reference(d.weights.data(), w.data(), kCols, d.imatrix.data());
  for (auto _ : state) benchmark::DoNotOptimize(k.dot(w.data(), d.activations.data(), kCols));
  state.SetItemsProcessed(state.iterations() * kCols);  // weights per second
}

#define QMIX_IQ2_BENCH(T)                                                                       \
  BENCHMARK_CAPTURE(quantize, T##_ours, GgmlType::T, false)->Unit(benchmark::kMillisecond);     \
  BENCHMARK_CAPTURE(quantize, T##_reference, GgmlType::T, true)->Unit(benchmark::kMillisecond); \
  BENCHMARK_CAPTURE(dot, T##_scalar, GgmlType::T, false);                                       \
  BENCHMARK_CAPTURE(dot, T##_avx2, GgmlType::T, true);

QMIX_IQ2_BENCH(IQ2_XXS)
QMIX_IQ2_BENCH(IQ2_XS)
QMIX_IQ2_BENCH(IQ2_S)
QMIX_IQ2_BENCH(IQ1_S)
QMIX_IQ2_BENCH(IQ1_M)

}  // namespace
}  // namespace qmix

BENCHMARK_MAIN();
