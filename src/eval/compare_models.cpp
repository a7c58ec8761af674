#include "eval/compare_models.h"

#include <unistd.h>

#include <algorithm>

#include "eval/eval_json.h"

namespace qmix {

namespace fs = std::filesystem;

namespace {

// Removes the temporary base-logits file however the comparison ends.
struct TempFile {
  fs::path path;
  ~TempFile() {
    std::error_code ec;
    if (!path.empty()) fs::remove(path, ec);
  }
};

Expected<ModelEvaluation> evaluate_model(const fs::path& path, const fs::path& text,
                                         const CompareModelsOptions& o, const EvalOptions& eval,
                                         std::span<const int32_t> base_tokens) {
  EngineOptions eo;
  eo.threads = o.threads;
  QMIX_TRY_ASSIGN(LoadedModel m, load_model(path, eo));
  auto tokens = tokenize_text_file(*m.tokenizer, text);
  if (!tokens.ok()) return tokens.error().with_context(text.string());
  if (!std::equal(tokens->begin(), tokens->end(), base_tokens.begin(), base_tokens.end()))
    return make_error(ErrorCode::kInvalidArgument,
                      "{}: its tokenizer splits {} differently from the base model's",
                      path.string(), text.string());
  ModelEvaluation v;
  v.name = path.filename().string();
  v.bytes = m.file->total_file_size();
  v.bpw = m.bits_per_weight();
  QMIX_TRY_ASSIGN(v.eval, evaluate(*m.engine, *tokens, eval));
  return v;
}

}  // namespace

Expected<TextComparison> compare_models_on_text(const std::vector<fs::path>& models,
                                                const fs::path& text,
                                                const CompareModelsOptions& o) {
  if (models.size() < 2)
    return make_error(ErrorCode::kInvalidArgument,
                      "compare needs a base model and at least one variant");
  TextComparison r;
  r.text = text.string();
  EngineOptions eo;
  eo.threads = o.threads;
  QMIX_TRY_ASSIGN(LoadedModel base, load_model(models[0], eo));
  auto tokens = tokenize_text_file(*base.tokenizer, text);
  if (!tokens.ok()) return tokens.error().with_context(text.string());
  const fs::path scratch = o.scratch_dir.empty() ? fs::temp_directory_path() : o.scratch_dir;
  TempFile logits{scratch / fmt::format("qmix-compare-{}.logits", ::getpid())};
  EvalOptions opt;
  opt.n_ctx = o.n_ctx;
  opt.max_chunks = o.max_chunks;
  opt.bos_token = chunk_bos(*base.tokenizer, o.bos);
  opt.top_k = o.top_k;
  opt.save_logits = logits.path;
  opt.cancel = o.cancel;
  const auto progress = [&](size_t done) {
    if (o.progress)
      o.progress->update(done, models.size(),
                         models[std::min(done, models.size() - 1)].filename().string());
  };
  progress(0);
  ModelEvaluation b{
      models[0].filename().string(), base.file->total_file_size(), base.bits_per_weight(), {}};
  QMIX_TRY_ASSIGN(b.eval, evaluate(*base.engine, *tokens, opt));
  r.models.push_back(std::move(b));
  opt.save_logits.clear();
  opt.kld_base = logits.path;
  for (size_t i = 1; i < models.size(); ++i) {
    progress(i);
    QMIX_TRY_ASSIGN(ModelEvaluation v, evaluate_model(models[i], text, o, opt, *tokens));
    r.models.push_back(std::move(v));
  }
  progress(models.size());
  PairedOptions po;
  po.tokens_per_chunk = o.n_ctx - 1 - o.n_ctx / 2;
  for (size_t i = 0; i < r.models.size(); ++i)
    for (size_t j = i + 1; j < r.models.size(); ++j) {
      QMIX_TRY_ASSIGN(PairedResult p,
                      paired_compare(r.models[i].eval.ppl.nll, r.models[j].eval.ppl.nll, po));
      r.pairs.push_back({i, j, p});
    }
  return r;
}

std::string comparison_markdown(const TextComparison& r) {
  std::string s = fmt::format("### {}\n\n", fs::path(r.text).filename().string());
  s += "| model | size MiB | bpw | PPL | ± | KLD mean | KLD p99 | same top % |\n";
  s += "|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const ModelEvaluation& v : r.models) {
    const double kld = v.eval.kld ? v.eval.kld->kld.mean : 0.0;
    const double p99 = v.eval.kld ? v.eval.kld->kld_q.p99 : 0.0;
    const double top = v.eval.kld ? v.eval.kld->same_top_pct : 100.0;
    s += fmt::format("| {} | {:.2f} | {:.3f} | {:.4f} | {:.4f} | {:.6f} | {:.6f} | {:.2f} |\n",
                     v.name, static_cast<double>(v.bytes) / (1 << 20), v.bpw, v.eval.ppl.ppl,
                     v.eval.ppl.ppl_err, kld, p99, top);
  }
  s += "\nPaired ΔNLL = NLL(B) − NLL(A) per token on identical tokens (> 0: A is better); "
       "95 % interval by bootstrap over chunks.\n\n";
  s += "| A | B | mean ΔNLL | SE | 95 % CI | distinguishable |\n|---|---|---:|---:|---|---|\n";
  for (const ModelPair& p : r.pairs)
    s +=
        fmt::format("| {} | {} | {:+.5f} | {:.5f} | [{:+.5f}, {:+.5f}] | {} |\n",
                    r.models[p.a].name, r.models[p.b].name, p.result.mean_delta, p.result.std_error,
                    p.result.ci_low, p.result.ci_high, p.result.distinguishable ? "yes" : "no");
  return s;
}

nlohmann::json text_comparison_json(const TextComparison& r) {
  nlohmann::json j = {
      {"text", r.text}, {"variants", nlohmann::json::array()}, {"paired", nlohmann::json::array()}};
  for (const ModelEvaluation& v : r.models) {
    nlohmann::json e = eval_json(v.eval);
    e["model"] = v.name;
    e["bytes"] = v.bytes;
    e["bpw"] = v.bpw;
    j["variants"].push_back(e);
  }
  for (const ModelPair& p : r.pairs)
    j["paired"].push_back({{"a", r.models[p.a].name},
                           {"b", r.models[p.b].name},
                           {"mean_delta_nll", p.result.mean_delta},
                           {"std_error", p.result.std_error},
                           {"ci_low", p.result.ci_low},
                           {"ci_high", p.result.ci_high},
                           {"tokens", p.result.tokens},
                           {"chunks", p.result.chunks},
                           {"distinguishable", p.result.distinguishable}});
  return j;
}

nlohmann::json compare_document(const std::vector<TextComparison>& texts) {
  nlohmann::json all = nlohmann::json::array();
  for (const TextComparison& t : texts) all.push_back(text_comparison_json(t));
  return {{"schema", kCompareJsonSchema}, {"texts", all}};
}

}  // namespace qmix
