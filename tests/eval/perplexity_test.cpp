#include "eval/perplexity.h"

#include <gtest/gtest.h>

#include <cmath>

namespace qmix {
namespace {

TEST(Perplexity, TokenNllIsNegativeLogSoftmax) {
  const std::vector<float> logits{1.0f, 2.0f, 3.0f};
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(token_nll(logits, 2), -std::log(std::exp(3.0) / z), 1e-12);
  const std::vector<float> big{1000.0f, 0.0f};  // no overflow
  EXPECT_NEAR(token_nll(big, 0), 0.0, 1e-12);
}

TEST(Perplexity, SummaryMatchesLlamaPerplexityFormula) {
  const std::vector<double> nll{1.0, 2.0, 3.0, 4.0};
  const NllStats s = summarize_nll(nll);
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_DOUBLE_EQ(s.ppl, std::exp(2.5));
  const double var = (1 + 4 + 9 + 16) / 4.0 - 2.5 * 2.5;
  EXPECT_DOUBLE_EQ(s.ppl_err, std::exp(2.5) * std::sqrt(var / 3.0));
}

}  // namespace
}  // namespace qmix
