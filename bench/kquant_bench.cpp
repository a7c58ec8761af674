// k-quants (q2_K … q6_K, q8_K): quantization throughput (our search vs ggml's reference
// algorithm, with and without an imatrix), dequantization and dot-product throughput (scalar
// vs AVX2) against q8_K activations. Compare rows of the same run only.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "quant/types.h"

namespace qmix {
namespace {

constexpr int64_t kCols = 4096;

struct Data {
  std::vector<float> weights, imatrix, activations;
};

const Data& data() {
  static const Data d = [] {
    Data out;
    std::mt19937 rng(42);
    std::normal_distribution<float> gauss(0.f, 0.02f);
    std::lognormal_distribution<float> importance(0.f, 1.f);
    std::normal_distribution<float> act(0.f, 1.f);
    for (int64_t i = 0; i < kCols; ++i) {
      out.weights.push_back(gauss(rng));
      out.imatrix.push_back(importance(rng));
      out.activations.push_back(act(rng));
    }
    return out;
  }();
  return d;
}

enum class Algo { kOurs, kReference };
enum class Imatrix { kNone, kGiven };
enum class Kernels { kScalar, kActive };

const QuantKernels& kernels(const QuantType& type, Kernels which) {
  return which == Kernels::kScalar ? scalar_kernels(type) : active_kernels(type);
}

void quantize(benchmark::State& state, GgmlType id, Algo algo, Imatrix im) {
  const QuantType& type = quant_type(id);
  const QuantKernels& k = active_kernels(type);
  const QuantizeRowFn fn = algo == Algo::kReference ? k.quantize_reference : k.quantize;
  std::vector<std::byte> out(*type.row_bytes(kCols));
  const Data& d = data();
  const float* imatrix = im == Imatrix::kGiven ? d.imatrix.data() : nullptr;
  for (auto _ : state) {
    fn(d.weights.data(), out.data(), kCols, imatrix);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * kCols * static_cast<int64_t>(sizeof(float)));
}

void dequantize(benchmark::State& state, GgmlType id, Kernels which) {
  const QuantType& type = quant_type(id);
  std::vector<std::byte> q(*type.row_bytes(kCols));
  scalar_kernels(type).quantize_reference(data().weights.data(), q.data(), kCols, nullptr);
  std::vector<float> out(kCols);
  const DequantizeRowFn fn = kernels(type, which).dequantize;
  for (auto _ : state) {
    fn(q.data(), out.data(), kCols);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * kCols * static_cast<int64_t>(sizeof(float)));
}

void dot(benchmark::State& state, GgmlType id, Kernels which) {
  const QuantType& type = quant_type(id);
  const QuantType& partner = quant_type(type.dot_partner);
  std::vector<std::byte> w(*type.row_bytes(kCols)), a(*partner.row_bytes(kCols));
  scalar_kernels(type).quantize_reference(data().weights.data(), w.data(), kCols, nullptr);
  scalar_kernels(partner).quantize(data().activations.data(), a.data(), kCols, nullptr);
  const DotFn fn = kernels(type, which).dot;
  for (auto _ : state) benchmark::DoNotOptimize(fn(w.data(), a.data(), kCols));
  state.SetItemsProcessed(state.iterations() * kCols);  // weights per second
}

// Activation quantization to q8_K: what the engine does for every matmul input row.
void quantize_q8k(benchmark::State& state, Kernels which) {
  const QuantType& type = quant_type(GgmlType::Q8_K);
  std::vector<std::byte> out(*type.row_bytes(kCols));
  const QuantizeRowFn fn = kernels(type, which).quantize;
  for (auto _ : state) {
    fn(data().activations.data(), out.data(), kCols, nullptr);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * kCols * static_cast<int64_t>(sizeof(float)));
}

#define QMIX_KQUANT_BENCH(T)                                                                \
  BENCHMARK_CAPTURE(quantize, T##_ours, GgmlType::T, Algo::kOurs, Imatrix::kNone)           \
      ->Unit(benchmark::kMicrosecond);                                                      \
  BENCHMARK_CAPTURE(quantize, T##_reference, GgmlType::T, Algo::kReference, Imatrix::kNone) \
      ->Unit(benchmark::kMicrosecond);                                                      \
  BENCHMARK_CAPTURE(quantize, T##_ours_imatrix, GgmlType::T, Algo::kOurs, Imatrix::kGiven)  \
      ->Unit(benchmark::kMicrosecond);                                                      \
  BENCHMARK_CAPTURE(quantize, T##_reference_imatrix, GgmlType::T, Algo::kReference,         \
                    Imatrix::kGiven)                                                        \
      ->Unit(benchmark::kMicrosecond);                                                      \
  BENCHMARK_CAPTURE(dequantize, T##_scalar, GgmlType::T, Kernels::kScalar);                 \
  BENCHMARK_CAPTURE(dequantize, T##_avx2, GgmlType::T, Kernels::kActive);                   \
  BENCHMARK_CAPTURE(dot, T##_scalar, GgmlType::T, Kernels::kScalar);                        \
  BENCHMARK_CAPTURE(dot, T##_avx2, GgmlType::T, Kernels::kActive);

QMIX_KQUANT_BENCH(Q2_K)
QMIX_KQUANT_BENCH(Q3_K)
QMIX_KQUANT_BENCH(Q4_K)
QMIX_KQUANT_BENCH(Q5_K)
QMIX_KQUANT_BENCH(Q6_K)

BENCHMARK_CAPTURE(quantize_q8k, scalar, Kernels::kScalar);
BENCHMARK_CAPTURE(quantize_q8k, avx2, Kernels::kActive);
BENCHMARK_CAPTURE(dot, Q8_K_scalar, GgmlType::Q8_K, Kernels::kScalar);
BENCHMARK_CAPTURE(dot, Q8_K_avx2, GgmlType::Q8_K, Kernels::kActive);

}  // namespace
}  // namespace qmix

BENCHMARK_MAIN();
