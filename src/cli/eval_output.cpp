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
