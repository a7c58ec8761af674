// `qmix quantize` end to end as a library call (mmap in → plan → convert and quantize in row
// chunks on all threads → atomic write): input MB/s for Q8_0 and for Q4_K_M with an imatrix,
// each with its ratio to a BF16 → F16 conversion of the same model measured in the same run
// (the I/O-and-conversion floor), and the peak resident set of the process.
//
// The model is $QMIX_BENCH_MODEL when set (docs/performance.md makes a 1.2B-parameter one with
// `qmix synth`); otherwise a small random model is written to a temporary directory. Run one
// benchmark per process (--benchmark_filter) for a per-preset peak RSS.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "model/synth.h"
#include "recipe/presets.h"
#include "recipe/quantize_model.h"
#include "recipe/tensor_plan.h"

namespace qmix {
namespace {

struct BenchModel {
  std::filesystem::path dir;  // temporary: the generated model (if any) and the outputs
  std::filesystem::path path;
  std::optional<GgufModel> model;
  PlanModel plan_model;
  ~BenchModel() {
    model.reset();
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
};

std::filesystem::path make_small_model(const std::filesystem::path& dir) {
  SynthSpec spec;
  spec.arch = Arch::kLlama;
  spec.layers = 4;
  spec.hidden = 1024;
  spec.ffn = 4096;
  spec.heads = 16;
  spec.kv_heads = 4;
  spec.vocab = 16384;
  const auto path = dir / "bench-model.gguf";
  const Status s = write_synthetic_model(spec, path);
  if (!s.ok()) {
    std::fprintf(stderr, "cannot write the bench model: %s\n", s.error().message.c_str());
    std::exit(1);
  }
  return path;
}

void open_bench_model(BenchModel& m) {
  m.dir = std::filesystem::temp_directory_path() /
          ("qmix-quantize-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(m.dir);
  const char* env = std::getenv("QMIX_BENCH_MODEL");
  m.path = env != nullptr ? std::filesystem::path(env) : make_small_model(m.dir);
  auto model = GgufModel::open(m.path);
  auto plan_model = model.ok() ? plan_model_from_gguf(*model) : Expected<PlanModel>(model.error());
  if (!plan_model.ok()) {
    std::fprintf(stderr, "%s\n", plan_model.error().message.c_str());
    std::exit(1);
  }
  m.model.emplace(std::move(*model));
  m.plan_model = std::move(*plan_model);
}

BenchModel& bench_model() {
  static BenchModel m;
  if (!m.model) open_bench_model(m);
  return m;
}

// Random positive importances (log-normal, as real E[x²] spread) for every 2-D+ weight.
ImportanceData random_importance(const QuantPlan& plan) {
  ImportanceData im;
  im.file = "random.imatrix";
  std::mt19937 rng(7);
  std::lognormal_distribution<float> dist(0.0f, 1.0f);
  for (const auto& t : plan.tensors) {
    if (!t.quantizable || t.shape.size() < 2) continue;
    const size_t n = static_cast<size_t>(t.shape[0]) * (t.shape.size() > 2 ? t.shape[2] : 1);
    auto& v = im.values[t.name];
    v.resize(n);
    for (auto& x : v) x = dist(rng);
  }
  return im;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

double g_baseline_seconds = 0;  // the F16 conversion of this run, for the ratios

void BM_Quantize(benchmark::State& state, const char* preset, bool with_imatrix) {
  BenchModel& m = bench_model();
  PlanOptions options;
  options.preset = *find_preset(preset);
  options.has_imatrix = with_imatrix;
  const auto plan = compute_plan(m.plan_model, options);
  if (!plan.ok()) return state.SkipWithError(plan.error().message.c_str());
  const ImportanceData importance = random_importance(*plan);
  QuantizeJob job;
  job.plan = &*plan;
  job.imatrix = with_imatrix ? &importance : nullptr;
  const auto out = m.dir / "out.gguf";
  double seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    const Status s = quantize_model(*m.model, out, job);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!s.ok()) return state.SkipWithError(s.error().message.c_str());
  }
  std::filesystem::remove(out);
  const double per_run = seconds / static_cast<double>(state.iterations());
  if (std::string_view(preset) == "F16") g_baseline_seconds = per_run;
  state.SetBytesProcessed(static_cast<int64_t>(plan->source_bytes()) * state.iterations());
  state.counters["input_MiB"] = static_cast<double>(plan->source_bytes()) / (1024.0 * 1024.0);
  state.counters["peak_rss_MiB"] = peak_rss_mib();
  if (g_baseline_seconds > 0) state.counters["time_vs_f16"] = per_run / g_baseline_seconds;
}

BENCHMARK_CAPTURE(BM_Quantize, F16_baseline, "F16", false)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK_CAPTURE(BM_Quantize, Q8_0, "Q8_0", false)->Unit(benchmark::kSecond)->Iterations(1);
BENCHMARK_CAPTURE(BM_Quantize, Q4_K_M_imatrix, "Q4_K_M", true)
    ->Unit(benchmark::kSecond)
    ->Iterations(1);

}  // namespace
}  // namespace qmix

BENCHMARK_MAIN();
