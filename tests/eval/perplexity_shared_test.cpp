// Perplexity of the tiny models, llama-perplexity's method, against two independent references:
// transformers (models/*/reference/ppl.json, f32 from the bf16 weights) for the bf16 GGUFs,
// and ik_llama.cpp's llama-perplexity (gguf/ppl.json) for llama.cpp-quantized files.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "eval/evaluate.h"
#include "eval/model_session.h"
#include "eval/perplexity.h"
#include "quant/types.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kCtx = 256, kChunks = 40;

// The first 40 chunks only need the start of the corpus: tokenizing a prefix cut at a line
// boundary well past 40·256 tokens gives the same first tokens as the whole file.
std::string text_prefix(const fs::path& path, size_t bytes) {
  std::string s = test::read_text(path);
  if (s.size() <= bytes) return s;
  return s.substr(0, s.find('\n', bytes) + 1);
}

// The first 40 chunks of `text`; with `save`/`kld` set, the base-logits file to write/compare.
EvalOutcome evaluate_file(const fs::path& model, const fs::path& text, const fs::path& save = {},
                          const fs::path& kld = {}) {
  EngineOptions eo;
  eo.threads = 2;
  auto m = load_model(model, eo);
  EXPECT_TRUE(m.ok()) << m.error().message;
  if (!m.ok()) return {};
  EncodeOptions enc;
  enc.add_special = false;
  enc.parse_special = false;
  const std::vector<int32_t> tokens = m->tokenizer->encode(text_prefix(text, 200000), enc);
  EvalOptions opt;
  opt.n_ctx = kCtx;
  opt.max_chunks = kChunks;
  opt.bos_token = chunk_bos(*m->tokenizer, BosPolicy::kAuto);
  opt.save_logits = save;
  opt.kld_base = kld;
  auto r = evaluate(*m->engine, tokens, opt);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : EvalOutcome{};
}

PerplexityResult run(const fs::path& model, const fs::path& text) {
  return evaluate_file(model, text).ppl;
}

class PerplexitySharedBf16 : public ::testing::TestWithParam<const char*> {};

// Tolerance: 2e-4 relative (the 4th significant digit). The engine agrees with an independent
// double-precision forward to ~1e-5 in logits (tests/engine); transformers' f32 reference adds
// its own ~1e-4 rounding in the long sums of the NLL.
TEST_P(PerplexitySharedBf16, MatchesTransformers) {
  const auto shared = test::shared_dir();
  if (!shared) GTEST_SKIP() << "../shared not present: PPL reference test skipped";
  const std::string name = GetParam();
  const json ref = json::parse(test::read_text(*shared / "models" / name / "reference/ppl.json"));
  for (const char* text : {"wiki.test.raw", "reasoning.test.txt"}) {
    SCOPED_TRACE(name + " " + text);
    const PerplexityResult r =
        run(*shared / "gguf" / (name + ".bf16.gguf"), *shared / "data" / text);
    const double want = ref[text]["first40"]["ppl"];
    EXPECT_EQ(r.scored_tokens, 40 * 127);
    EXPECT_NEAR(r.ppl / want, 1.0, 2e-4) << "ours " << r.ppl << " transformers " << want;
    EXPECT_NEAR(r.ppl_err / static_cast<double>(ref[text]["first40"]["ppl_err"]), 1.0, 1e-3);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, PerplexitySharedBf16,
                         ::testing::Values("tiny-llama", "tiny-qwen3", "tiny-qwen3moe",
                                           "tiny-qwen35"));

// llama.cpp's own quantized files: our PPL agrees with ik_llama.cpp's to ~3 digits (it keeps
// the KV cache in f16, we keep f32), and the presets order as expected on in-domain text.
TEST(PerplexitySharedQuantized, MatchesLlamaCppAndOrders) {
  const auto shared = test::shared_dir();
  if (!shared) GTEST_SKIP() << "../shared not present: quantized PPL test skipped";
  const json ref = json::parse(test::read_text(*shared / "gguf/ppl.json"))["results"]["tiny-qwen3"];
  const fs::path text = *shared / "data/reasoning.test.txt";
  test::TempDir dir;
  evaluate_file(*shared / "gguf/tiny-qwen3.bf16.gguf", text, dir / "base.logits");
  std::map<std::string, double> ppl, kld;
  for (const char* preset : {"Q8_0", "Q4_K_M", "Q2_K"}) {
    const fs::path file =
        *shared / "gguf/quantized" / (std::string("tiny-qwen3.") + preset + ".gguf");
    auto model = GgufModel::open(file);
    ASSERT_TRUE(model.ok()) << model.error().message;
    bool kernels = true;
    for (const GgufTensorRef& t : model->tensors())
      kernels = kernels && active_kernels(t.info->quant_type()).dot != nullptr;
    if (!kernels) GTEST_SKIP() << preset << ": kernels not implemented yet";
    SCOPED_TRACE(preset);
    const EvalOutcome out = evaluate_file(file, text, {}, dir / "base.logits");
    ASSERT_TRUE(out.kld.has_value());
    kld[preset] = out.kld->kld.mean;
    const PerplexityResult& r = out.ppl;
    const double want = ref[preset]["reasoning.test.txt"]["ppl"];
    EXPECT_NEAR(r.ppl / want, 1.0, 2e-3) << "ours " << r.ppl << " ik_llama.cpp " << want;
    ppl[preset] = r.ppl;
  }
  EXPECT_LT(ppl["Q8_0"], ppl["Q4_K_M"]);
  EXPECT_LT(ppl["Q4_K_M"], ppl["Q2_K"]);
  // KLD against bf16 separates the presets by an order of magnitude each.
  EXPECT_LT(10 * kld["Q8_0"], kld["Q4_K_M"]);
  EXPECT_LT(5 * kld["Q4_K_M"], kld["Q2_K"]);
}

}  // namespace
}  // namespace qmix
