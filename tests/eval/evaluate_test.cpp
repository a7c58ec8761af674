// evaluate(): saving base distributions and comparing against them on a synthetic model.
#include "eval/evaluate.h"

#include <gtest/gtest.h>

#include "model/synth.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

class Evaluate : public ::testing::Test {
 protected:
  void SetUp() override {
    SynthSpec spec;
    spec.arch = Arch::kQwen3;
    spec.layers = 2;
    spec.hidden = 256;
    spec.ffn = 256;
    spec.vocab = 300;
    spec.sigma = 0.05;
    ASSERT_TRUE(write_synthetic_model(spec, dir_ / "m.gguf").ok());
    auto model = GgufModel::open(dir_ / "m.gguf");
    ASSERT_TRUE(model.ok());
    model_ = std::make_unique<GgufModel>(std::move(*model));
    EngineOptions opt;
    opt.threads = 2;
    auto e = Engine::create(*model_, opt);
    ASSERT_TRUE(e.ok()) << e.error().message;
    engine_ = std::move(*e);
    for (int i = 0; i < 3 * 32 + 5; ++i) tokens_.push_back((i * 37 + i * i) % 300);
  }
  test::TempDir dir_;
  std::unique_ptr<GgufModel> model_;
  std::unique_ptr<Engine> engine_;
  std::vector<int32_t> tokens_;
};

TEST_F(Evaluate, ModelAgainstItselfHasZeroKld) {
  EvalOptions opt;
  opt.n_ctx = 32;
  opt.save_logits = dir_ / "base.logits";
  auto base = evaluate(*engine_, tokens_, opt);
  ASSERT_TRUE(base.ok()) << base.error().message;
  EXPECT_EQ(base->ppl.chunks, 3);
  opt.save_logits.clear();
  opt.kld_base = dir_ / "base.logits";
  auto same = evaluate(*engine_, tokens_, opt);
  ASSERT_TRUE(same.ok()) << same.error().message;
  ASSERT_TRUE(same->kld.has_value());
  EXPECT_EQ(same->kld->tokens, base->ppl.scored_tokens);
  EXPECT_NEAR(same->kld->kld.mean, 0.0, 1e-9);
  EXPECT_DOUBLE_EQ(same->kld->same_top_pct, 100.0);
  // The base target log-probability is stored as f32: the ratio is 1 to f32 precision.
  EXPECT_NEAR(same->kld->ppl_ratio, 1.0, 1e-6);
  EXPECT_DOUBLE_EQ(same->ppl.ppl, base->ppl.ppl);
}

TEST_F(Evaluate, KldRejectsOtherTokensAndContext) {
  EvalOptions opt;
  opt.n_ctx = 32;
  opt.save_logits = dir_ / "base.logits";
  ASSERT_TRUE(evaluate(*engine_, tokens_, opt).ok());
  opt.save_logits.clear();
  opt.kld_base = dir_ / "base.logits";
  std::vector<int32_t> other = tokens_;
  other[40] = (other[40] + 1) % 300;
  auto r = evaluate(*engine_, other, opt);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("different tokens"), std::string::npos) << r.error().message;
  opt.n_ctx = 16;
  r = evaluate(*engine_, tokens_, opt);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("--ctx"), std::string::npos) << r.error().message;
}

TEST_F(Evaluate, MissingBaseFileIsAnError) {
  EvalOptions opt;
  opt.n_ctx = 32;
  opt.kld_base = dir_ / "nope.logits";
  EXPECT_FALSE(evaluate(*engine_, tokens_, opt).ok());
}

}  // namespace
}  // namespace qmix
