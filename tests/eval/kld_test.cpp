#include "eval/kld.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "testutil/testutil.h"

namespace qmix {
namespace {

std::vector<float> random_logits(std::mt19937& rng, int n) {
  std::normal_distribution<float> d(0.0f, 2.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = d(rng);
  return v;
}

double exact_kld(const std::vector<float>& p_logits, const std::vector<float>& q_logits) {
  auto logsoftmax = [](const std::vector<float>& l) {
    double mx = *std::max_element(l.begin(), l.end()), s = 0;
    for (float v : l) s += std::exp(v - mx);
    std::vector<double> out;
    for (float v : l) out.push_back(v - mx - std::log(s));
    return out;
  };
  const auto lp = logsoftmax(p_logits), lq = logsoftmax(q_logits);
  double k = 0;
  for (size_t i = 0; i < lp.size(); ++i) k += std::exp(lp[i]) * (lp[i] - lq[i]);
  return k;
}

TEST(Kld, SelfIsZeroAndSameTop) {
  std::mt19937 rng(1);
  const auto l = random_logits(rng, 500);
  const auto d = summarize_distribution(l, 7, 64);
  const auto c = compare_token(d, l);
  EXPECT_NEAR(c.kld, 0.0, 1e-9);
  EXPECT_TRUE(c.same_top);
  EXPECT_NEAR(c.nll_base, c.nll_model, 1e-6);
}

TEST(Kld, TopKBoundIsBelowAndCloseToExact) {
  std::mt19937 rng(2);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  for (int i = 0; i < 20; ++i) {
    auto p = random_logits(rng, 1000);
    for (auto& v : p) v *= 3;  // peaked, like a trained model
    auto q = p;
    for (auto& v : q) v += noise(rng);
    const double exact = exact_kld(p, q);
    const auto c = compare_token(summarize_distribution(p, 0, 64), q);
    EXPECT_LE(c.kld, exact + 1e-9);  // log-sum inequality: a lower bound
    EXPECT_GE(c.kld, exact * (1 - (1 - c.base_topk_mass)) - 1e-3);
    // Full vocabulary as "top-k" gives the exact value (up to the f32 storage of log-probs).
    EXPECT_NEAR(compare_token(summarize_distribution(p, 0, 1000), q).kld, exact,
                1e-4 * exact + 1e-7);
  }
}

TEST(Kld, SummaryStatistics) {
  std::vector<TokenComparison> t(4);
  for (int i = 0; i < 4; ++i) {
    t[static_cast<size_t>(i)].kld = i;
    t[static_cast<size_t>(i)].nll_base = 1.0;
    t[static_cast<size_t>(i)].nll_model = 1.0 + 0.1 * i;
    t[static_cast<size_t>(i)].same_top = i % 2 == 0;
  }
  const auto r = summarize_kld(t);
  EXPECT_DOUBLE_EQ(r.kld.mean, 1.5);
  EXPECT_DOUBLE_EQ(r.kld_q.median, 1.5);
  EXPECT_DOUBLE_EQ(r.kld_q.max, 3.0);
  EXPECT_DOUBLE_EQ(r.same_top_pct, 50.0);
  EXPECT_NEAR(r.ln_ppl_ratio.mean, 0.15, 1e-12);
  EXPECT_NEAR(r.ppl_ratio, std::exp(0.15), 1e-12);
}

TEST(LogitsFile, RoundTripAndCorruption) {
  test::TempDir dir;
  std::mt19937 rng(3);
  LogitsFileHeader h{.n_vocab = 300, .top_k = 8, .n_ctx = 8, .n_chunks = 2, .tokens_hash = 42};
  std::vector<TokenDistribution> written;
  {
    auto w = LogitsWriter::create(dir / "b.logits", h);
    ASSERT_TRUE(w.ok());
    for (int c = 0; c < 2; ++c) {
      for (int i = 0; i < 3; ++i) {  // n_ctx 8 scores positions 4..6
        written.push_back(summarize_distribution(random_logits(rng, 300), i, 8));
        ASSERT_TRUE(w->add(written.back()).ok());
      }
      ASSERT_TRUE(w->end_chunk().ok());
    }
    ASSERT_TRUE(w->finish().ok());
  }
  auto r = LogitsReader::open(dir / "b.logits");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->header().tokens_hash, 42u);
  auto c1 = r->chunk(1);
  ASSERT_TRUE(c1.ok());
  ASSERT_EQ(c1->size(), 3u);
  EXPECT_EQ((*c1)[2].top_ids, written[5].top_ids);
  EXPECT_EQ((*c1)[2].top_logprobs, written[5].top_logprobs);
  auto bytes = test::read_bytes(dir / "b.logits");
  bytes.resize(bytes.size() - 5);
  test::write_bytes(dir / "t.logits", bytes.data(), bytes.size());
  EXPECT_FALSE(LogitsReader::open(dir / "t.logits").ok());
}

}  // namespace
}  // namespace qmix
