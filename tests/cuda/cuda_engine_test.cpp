// The CUDA forward pass against the CPU engine on the tiny models of ../shared: logits, PPL and
// imatrix statistics. Runs on a machine with a GPU (docs/cuda.md); skips without one.
// Stated tolerances (the device rounds matmul operands to bf16, the CPU engine does not):
//   logits: max |Δ| ≤ 1e-2 × the CPU logit range, no top-1 change where the CPU's top-2
//   margin exceeds 1 % of the range; PPL within 0.5 %; imatrix per-tensor means within 1 %.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "cuda/cuda_backend.h"
#include "eval/model_session.h"
#include "eval/perplexity.h"
#include "imatrix/collector.h"
#include "model/synth.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

#define QMIX_REQUIRE_CUDA()                                              \
  do {                                                                   \
    const auto info = cuda::device_info();                               \
    if (!info.ok()) GTEST_SKIP() << "skipped: " << info.error().message; \
  } while (0)

EngineOptions on_device(MatmulObserver* observer = nullptr) {
  EngineOptions o;
  o.backend = cuda::backend_factory();
  o.observer = observer;
  return o;
}

std::filesystem::path model_path(const std::filesystem::path& shared, const std::string& name) {
  return name.find('.') == std::string::npos ? shared / "gguf" / (name + ".bf16.gguf")
                                             : shared / "gguf" / "quantized" / (name + ".gguf");
}

std::vector<int32_t> text_tokens(const LoadedModel& m, const std::filesystem::path& text) {
  auto t = tokenize_text_file(*m.tokenizer, text);
  EXPECT_TRUE(t.ok());
  return t.ok() ? *t : std::vector<int32_t>{};
}

class CudaEngineShared : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaEngineShared, LogitsMatchTheCpuEngine) {
  QMIX_REQUIRE_CUDA();
  QMIX_REQUIRE_SHARED(shared);
  const auto path = model_path(shared, GetParam());
  auto cpu = load_model(path, {});
  auto gpu = load_model(path, on_device());
  ASSERT_TRUE(cpu.ok()) << cpu.error().message;
  ASSERT_TRUE(gpu.ok()) << gpu.error().message;
  ASSERT_EQ(gpu->engine->device_name(), "cuda");
  std::vector<int32_t> ids = text_tokens(*cpu, shared / "data" / "wiki.test.raw");
  ids.resize(200);
  auto want = cpu->engine->eval(ids);
  auto got = gpu->engine->eval(ids);
  ASSERT_TRUE(want.ok() && got.ok());
  ASSERT_EQ(want->size(), got->size());
  const int64_t vocab = cpu->engine->n_vocab();
  double max_abs = 0, range = 0;
  int top1_changes = 0;
  for (size_t t = 0; t < ids.size(); ++t) {
    const float* w = want->data() + t * static_cast<size_t>(vocab);
    const float* g = got->data() + t * static_cast<size_t>(vocab);
    const auto [mn, mx] = std::minmax_element(w, w + vocab);
    range = std::max(range, static_cast<double>(*mx - *mn));
    for (int64_t v = 0; v < vocab; ++v)
      max_abs = std::max(max_abs, std::fabs(static_cast<double>(w[v]) - g[v]));
    std::vector<float> sorted(w, w + vocab);
    std::nth_element(sorted.begin(), sorted.begin() + 1, sorted.end(), std::greater<>());
    const bool clear = sorted[0] - sorted[1] > 0.01f * (*mx - *mn);
    if (clear && std::max_element(g, g + vocab) - g != mx - w) ++top1_changes;
  }
  RecordProperty("max_abs_over_range", std::to_string(max_abs / range));
  std::printf("%s: max |Δlogit| %.4g = %.3g of the range %.3g\n", GetParam().c_str(), max_abs,
              max_abs / range, range);
  EXPECT_LE(max_abs, 1e-2 * range);
  EXPECT_EQ(top1_changes, 0);
}

TEST_P(CudaEngineShared, PerplexityMatchesTheCpuEngine) {
  QMIX_REQUIRE_CUDA();
  QMIX_REQUIRE_SHARED(shared);
  const auto path = model_path(shared, GetParam());
  auto cpu = load_model(path, {});
  auto gpu = load_model(path, on_device());
  ASSERT_TRUE(cpu.ok() && gpu.ok());
  const std::vector<int32_t> tokens = text_tokens(*cpu, shared / "data" / "reasoning.test.txt");
  PerplexityOptions opt;
  opt.n_ctx = 256;
  opt.max_chunks = 10;
  opt.bos_token = chunk_bos(*cpu->tokenizer, BosPolicy::kAuto);
  auto want = perplexity(*cpu->engine, tokens, opt);
  auto got = perplexity(*gpu->engine, tokens, opt);
  ASSERT_TRUE(want.ok() && got.ok());
  std::printf("%s: PPL cpu %.4f cuda %.4f (%.3f %%)\n", GetParam().c_str(), want->ppl, got->ppl,
              100 * (got->ppl / want->ppl - 1));
  EXPECT_NEAR(got->ppl / want->ppl, 1.0, 5e-3);
}

INSTANTIATE_TEST_SUITE_P(Models, CudaEngineShared,
                         ::testing::Values("tiny-qwen3", "tiny-llama", "tiny-qwen3.Q4_K_M",
                                           "tiny-qwen3.Q8_0", "tiny-qwen3.IQ4_XS",
                                           "tiny-qwen3.Q2_K", "tiny-qwen35.Q4_K_M"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           std::replace(n.begin(), n.end(), '.', '_');
                           return n;
                         });

// Σx² accumulated on the device and handed over once per chunk gives llama-imatrix's
// statistics of the CPU engine: per-tensor means within 1 %, identical row counts.
TEST(CudaImatrixShared, DeviceSquareSumsMatchTheCpuCollector) {
  QMIX_REQUIRE_CUDA();
  QMIX_REQUIRE_SHARED(shared);
  const auto path = model_path(shared, "tiny-llama");
  ImatrixCollector cpu_collector, gpu_collector;
  EngineOptions cpu_opt;
  cpu_opt.observer = &cpu_collector;
  auto cpu = load_model(path, cpu_opt);
  auto gpu = load_model(path, on_device(&gpu_collector));
  ASSERT_TRUE(cpu.ok() && gpu.ok());
  const std::vector<int32_t> tokens = text_tokens(*cpu, shared / "data" / "wiki.test.raw");
  CollectOptions opt;
  opt.n_ctx = 256;
  opt.max_chunks = 4;
  auto want = collect_imatrix(*cpu->engine, cpu_collector, tokens, opt);
  auto got = collect_imatrix(*gpu->engine, gpu_collector, tokens, opt);
  ASSERT_TRUE(want.ok() && got.ok());
  ASSERT_EQ(want->imatrix.entries.size(), got->imatrix.entries.size());
  double worst = 0;
  for (const ImatrixEntry& w : want->imatrix.entries) {
    const ImatrixEntry* g = got->imatrix.find(w.name);
    ASSERT_NE(g, nullptr) << w.name;
    EXPECT_EQ(g->counts, w.counts) << w.name;
    double sw = 0, sg = 0;
    for (size_t i = 0; i < w.sum_sq.size(); ++i) {
      sw += w.sum_sq[i];
      sg += g->sum_sq[i];
    }
    worst = std::max(worst, std::fabs(sg / sw - 1));
    EXPECT_NEAR(sg / sw, 1.0, 1e-2) << w.name;
  }
  std::printf("imatrix: worst per-tensor mean deviation %.3g %%\n", 100 * worst);
}

// Observers that need the rows themselves get them copied from the device, with the same
// tensors and row counts as on the CPU.
class RowCounter final : public MatmulObserver {
 public:
  void on_matmul(const WeightRef& w, const float* x, int64_t rows, int64_t cols,
                 std::span<const int32_t>) override {
    rows_[w.name] += rows;
    last_ = x[rows * cols - 1];  // the rows must be readable host memory
  }
  std::map<std::string, int64_t> rows_;
  float last_ = 0;
};

TEST(CudaObserverShared, RowObserversSeeTheSameMatmulsAsOnTheCpu) {
  QMIX_REQUIRE_CUDA();
  QMIX_REQUIRE_SHARED(shared);
  const auto path = model_path(shared, "tiny-qwen3");
  RowCounter on_cpu, on_gpu;
  EngineOptions cpu_opt;
  cpu_opt.observer = &on_cpu;
  auto cpu = load_model(path, cpu_opt);
  auto gpu = load_model(path, on_device(&on_gpu));
  ASSERT_TRUE(cpu.ok() && gpu.ok());
  const std::vector<int32_t> ids(64, 17);
  ASSERT_TRUE(cpu->engine->eval(ids, 60).ok());
  ASSERT_TRUE(gpu->engine->eval(ids, 60).ok());
  EXPECT_EQ(on_cpu.rows_, on_gpu.rows_);
}

// Layers the backend does not run yet fail at creation with a message naming them.
TEST(CudaEngineErrors, UnsupportedLayersAreAClearError) {
  QMIX_REQUIRE_CUDA();
  test::TempDir dir;
  SynthSpec moe;
  moe.arch = Arch::kQwen3Moe;
  moe.layers = 1;
  moe.vocab = 512;
  moe.experts = 4;
  moe.experts_used = 2;
  moe.expert_ffn = 128;
  ASSERT_TRUE(write_synthetic_model(moe, dir / "moe.gguf").ok());
  auto model = GgufModel::open(dir / "moe.gguf");
  ASSERT_TRUE(model.ok());
  auto engine = Engine::create(*model, on_device());
  ASSERT_FALSE(engine.ok());
  EXPECT_NE(engine.error().message.find("mixture-of-experts"), std::string::npos)
      << engine.error().message;
}

}  // namespace
}  // namespace qmix
