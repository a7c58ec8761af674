#include "eval/kld.h"

#include <algorithm>
#include <cmath>

namespace qmix {

TokenComparison compare_token(const TokenDistribution& base, std::span<const float> logits) {
  double mx = logits[0];
  for (float v : logits) mx = std::max(mx, static_cast<double>(v));
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - mx);
  const double log_z = mx + std::log(sum);
  auto model_lp = [&](int32_t id) {
    return static_cast<double>(logits[static_cast<size_t>(id)]) - log_z;
  };
  TokenComparison c;
  double base_mass = 0, model_mass = 0;
  for (size_t i = 0; i < base.top_ids.size(); ++i) {
    const double lp_b = base.top_logprobs[i], lp_m = model_lp(base.top_ids[i]);
    const double p_b = std::exp(lp_b);
    c.kld += p_b * (lp_b - lp_m);
    base_mass += p_b;
    model_mass += std::exp(lp_m);
  }
  const double rest_b = std::max(0.0, 1.0 - base_mass), rest_m = std::max(1e-30, 1.0 - model_mass);
  if (rest_b > 1e-12) c.kld += rest_b * (std::log(rest_b) - std::log(rest_m));
  c.kld = std::max(0.0, c.kld);
  c.nll_base = -base.target_logprob;
  c.nll_model = -model_lp(base.target);
  c.p_base = std::exp(-c.nll_base);
  c.p_model = std::exp(-c.nll_model);
  const auto top = std::max_element(logits.begin(), logits.end()) - logits.begin();
  c.same_top = !base.top_ids.empty() && top == base.top_ids.front();
  c.base_topk_mass = base_mass;
  return c;
}

Quantiles quantiles(std::vector<double> v) {
  Quantiles q;
  if (v.empty()) return q;
  std::sort(v.begin(), v.end());
  // Linear interpolation between closest ranks.
  auto at = [&](double p) {
    const double pos = p * static_cast<double>(v.size() - 1);
    const size_t lo = static_cast<size_t>(pos);
    const size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
  };
  q.median = at(0.5);
  q.p90 = at(0.90);
  q.p95 = at(0.95);
  q.p99 = at(0.99);
  q.p999 = at(0.999);
  q.max = v.back();
  q.min = v.front();
  return q;
}

MeanErr mean_and_error(std::span<const double> v) {
  MeanErr m;
  if (v.empty()) return m;
  double sum = 0;
  for (double x : v) sum += x;
  m.mean = sum / static_cast<double>(v.size());
  if (v.size() < 2) return m;
  double ss = 0;
  for (double x : v) ss += (x - m.mean) * (x - m.mean);
  m.err = std::sqrt(ss / static_cast<double>(v.size() - 1) / static_cast<double>(v.size()));
  return m;
}

namespace {
double correlation(std::span<const double> a, std::span<const double> b) {
  const MeanErr ma = mean_and_error(a), mb = mean_and_error(b);
  double cov = 0, va = 0, vb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    cov += (a[i] - ma.mean) * (b[i] - mb.mean);
    va += (a[i] - ma.mean) * (a[i] - ma.mean);
    vb += (b[i] - mb.mean) * (b[i] - mb.mean);
  }
  return va > 0 && vb > 0 ? cov / std::sqrt(va * vb) : 1.0;
}
}  // namespace

KldReport summarize_kld(std::span<const TokenComparison> t) {
  KldReport r;
  r.tokens = static_cast<int64_t>(t.size());
  if (t.empty()) return r;
  std::vector<double> kld, dp, dnll, lp_b, lp_m, same;
  double mass = 0;
  for (const auto& c : t) {
    kld.push_back(c.kld);
    dp.push_back(c.p_model - c.p_base);
    dnll.push_back(c.nll_model - c.nll_base);
    lp_b.push_back(-c.nll_base);
    lp_m.push_back(-c.nll_model);
    same.push_back(c.same_top ? 1.0 : 0.0);
    mass += c.base_topk_mass;
  }
  r.kld = mean_and_error(kld);
  r.kld_q = quantiles(kld);
  const MeanErr s = mean_and_error(same);
  r.same_top_pct = 100.0 * s.mean;
  r.same_top_err = 100.0 * s.err;
  r.delta_p = mean_and_error(dp);
  double ss = 0;
  for (double x : dp) ss += x * x;
  r.delta_p_rms = std::sqrt(ss / static_cast<double>(dp.size()));
  r.delta_p_q = quantiles(dp);
  r.ln_ppl_ratio = mean_and_error(dnll);
  r.ppl_base = std::exp(-mean_and_error(lp_b).mean);
  r.ppl_model = std::exp(-mean_and_error(lp_m).mean);
  r.ppl_ratio = r.ppl_model / r.ppl_base;
  r.logprob_correlation = correlation(lp_b, lp_m);
  r.base_topk_mass = mass / static_cast<double>(t.size());
  return r;
}

}  // namespace qmix
