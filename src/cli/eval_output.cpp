#include "cli/eval_output.h"

#include <cstdio>

namespace qmix::cli {

TerminalEval::~TerminalEval() {
  if (printed_) std::printf("\n");
}

void TerminalEval::chunk_line(int64_t chunk, double ppl) {
  if (json_) return;
  std::printf("%s[%lld]%.4f", chunk ? "," : "", static_cast<long long>(chunk + 1), ppl);
  std::fflush(stdout);
  printed_ = true;
}

namespace {
nlohmann::json quantiles_json(const Quantiles& q) {
  return {{"min", q.min}, {"median", q.median}, {"p90", q.p90}, {"p95", q.p95},
          {"p99", q.p99}, {"p99.9", q.p999},    {"max", q.max}};
}
}  // namespace

nlohmann::json kld_json(const KldReport& r) {
  return {{"tokens", r.tokens},
          {"kld", {{"mean", r.kld.mean}, {"err", r.kld.err}}},
          {"kld_quantiles", quantiles_json(r.kld_q)},
          {"same_top_pct", r.same_top_pct},
          {"same_top_err", r.same_top_err},
          {"delta_p", {{"mean", r.delta_p.mean}, {"err", r.delta_p.err}, {"rms", r.delta_p_rms}}},
          {"delta_p_quantiles", quantiles_json(r.delta_p_q)},
          {"ppl_base", r.ppl_base},
          {"ppl_model", r.ppl_model},
          {"ppl_ratio", r.ppl_ratio},
          {"ln_ppl_ratio", {{"mean", r.ln_ppl_ratio.mean}, {"err", r.ln_ppl_ratio.err}}},
          {"logprob_correlation", r.logprob_correlation},
          {"base_topk_mass", r.base_topk_mass}};
}

nlohmann::json eval_json(const EvalOutcome& out) {
  const PerplexityResult& p = out.ppl;
  nlohmann::json j = {{"ppl", p.ppl},
                      {"ppl_err", p.ppl_err},
                      {"mean_nll", p.mean_nll},
                      {"chunks", p.chunks},
                      {"scored_tokens", p.scored_tokens},
                      {"seconds", p.seconds},
                      {"tokens_per_second", p.tokens_per_second}};
  if (out.kld) j["kld"] = kld_json(*out.kld);
  return j;
}

void print_kld_text(const KldReport& r) {
  std::printf("Mean KLD: %.6f +/- %.6f\n", r.kld.mean, r.kld.err);
  std::printf("Median KLD: %.6f   p90 %.6f   p95 %.6f   p99 %.6f   p99.9 %.6f   max %.6f\n",
              r.kld_q.median, r.kld_q.p90, r.kld_q.p95, r.kld_q.p99, r.kld_q.p999, r.kld_q.max);
  std::printf("Same top   : %6.3f %% +/- %.3f %%\n", r.same_top_pct, r.same_top_err);
  std::printf("Mean Δp    : %+.4f %% +/- %.4f %%   RMS Δp %.4f %%\n", 100 * r.delta_p.mean,
              100 * r.delta_p.err, 100 * r.delta_p_rms);
  std::printf("Δp p1/p99  : (min %+.4f %%, median %+.4f %%, p99 %+.4f %%, max %+.4f %%)\n",
              100 * r.delta_p_q.min, 100 * r.delta_p_q.median, 100 * r.delta_p_q.p99,
              100 * r.delta_p_q.max);
  std::printf("PPL base %.4f, model %.4f, ratio %.5f, ln(ratio) %+.6f +/- %.6f\n", r.ppl_base,
              r.ppl_model, r.ppl_ratio, r.ln_ppl_ratio.mean, r.ln_ppl_ratio.err);
  std::printf("Cor(ln p)  : %.4f %%   (base top-k mass %.5f: KLD is a lower bound over top-k)\n",
              100 * r.logprob_correlation, r.base_topk_mass);
}

void print_eval_text(const EvalOutcome& out) {
  const PerplexityResult& p = out.ppl;
  std::printf("\nFinal estimate: PPL = %.4f +/- %.5f\n", p.ppl, p.ppl_err);
  std::printf("%lld chunks, %lld scored tokens, %.1f tokens/s\n", static_cast<long long>(p.chunks),
              static_cast<long long>(p.scored_tokens), p.tokens_per_second);
  if (out.kld) print_kld_text(*out.kld);
}

}  // namespace qmix::cli
