#include "eval/eval_json.h"

namespace qmix {

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

}  // namespace qmix
