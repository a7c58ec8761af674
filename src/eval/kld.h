// KL-divergence of a model against a base model's stored distributions, on identical tokens,
// with the statistics llama-perplexity's KLD mode prints (in our own format).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "eval/logits_file.h"

namespace qmix {

struct TokenComparison {
  double kld = 0;  // KL(base ‖ model) over top-k + remainder buckets
  double nll_base = 0, nll_model = 0;
  double p_base = 0, p_model = 0;  // probability of the target
  bool same_top = false;
  double base_topk_mass = 0;
};

TokenComparison compare_token(const TokenDistribution& base, std::span<const float> model_logits);

struct Quantiles {
  double median = 0, p90 = 0, p95 = 0, p99 = 0, p999 = 0, max = 0, min = 0;
};
Quantiles quantiles(std::vector<double> values);

struct MeanErr {
  double mean = 0, err = 0;  // standard error of the mean
};
MeanErr mean_and_error(std::span<const double> values);

struct KldReport {
  int64_t tokens = 0;
  MeanErr kld;
  Quantiles kld_q;
  double same_top_pct = 0, same_top_err = 0;
  MeanErr delta_p;  // p_model(target) − p_base(target)
  double delta_p_rms = 0;
  Quantiles delta_p_q;
  double ppl_base = 0, ppl_model = 0, ppl_ratio = 0;
  MeanErr ln_ppl_ratio;  // mean(nll_model − nll_base): paired, so its error is small
  double logprob_correlation = 0;
  double base_topk_mass = 0;  // mean stored mass of the base (how tight the KLD bound is)
};

KldReport summarize_kld(std::span<const TokenComparison> tokens);

}  // namespace qmix
