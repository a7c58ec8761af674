// `qmix compare BASE V1 V2 … -f TEXT [-f TEXT …]`: per text, one table of variants (size, bpw,
// PPL ± err, KLD against BASE, same-top %) and paired tests between every two models on
// identical tokens (mean ΔNLL ± SE, chunk-bootstrap interval, distinguishable or not).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/eval_output.h"
#include "core/atomic_file.h"
#include "eval/evaluate.h"
#include "eval/model_session.h"
#include "eval/paired.h"

namespace qmix::cli {
namespace {

namespace fs = std::filesystem;

struct CompareArgs {
  std::vector<std::string> models;  // base first
  std::vector<std::string> texts;
  std::string bos = "auto", json_out;
  int64_t ctx = 512, chunks = -1;
  int threads = 0, top_k = 64;
  bool json = false;
};

struct VariantResult {
  std::string name;
  uint64_t bytes = 0;
  double bpw = 0;
  EvalOutcome eval;
};

struct TextResult {
  std::string text;
  std::vector<VariantResult> variants;  // [0] is the base
  std::vector<std::pair<std::pair<size_t, size_t>, PairedResult>> pairs;
};

// Removes the temporary base-logits file however the comparison ends.
struct TempFile {
  fs::path path;
  ~TempFile() {
    std::error_code ec;
    if (!path.empty()) fs::remove(path, ec);
  }
};

Expected<VariantResult> evaluate_variant(const CompareArgs& a, const std::string& path,
                                         const std::string& text, const EvalOptions& base_opt,
                                         std::span<const int32_t> base_tokens) {
  EngineOptions eo;
  eo.threads = a.threads;
  QMIX_TRY_ASSIGN(LoadedModel m, load_model(path, eo));
  auto tokens = tokenize_text_file(*m.tokenizer, text);
  if (!tokens.ok()) return tokens.error().with_context(text);
  if (!std::equal(tokens->begin(), tokens->end(), base_tokens.begin(), base_tokens.end()))
    return make_error(ErrorCode::kInvalidArgument,
                      "{}: its tokenizer splits {} differently from the base model's", path, text);
  VariantResult v;
  v.name = fs::path(path).filename().string();
  v.bytes = m.file->total_file_size();
  v.bpw = m.bits_per_weight();
  QMIX_TRY_ASSIGN(v.eval, evaluate(*m.engine, *tokens, base_opt));
  return v;
}

Expected<TextResult> compare_on_text(const CompareArgs& a, const std::string& text) {
  TextResult r;
  r.text = text;
  EngineOptions eo;
  eo.threads = a.threads;
  QMIX_TRY_ASSIGN(LoadedModel base, load_model(a.models[0], eo));
  QMIX_TRY_ASSIGN(BosPolicy bos, parse_bos_policy(a.bos));
  auto tokens = tokenize_text_file(*base.tokenizer, text);
  if (!tokens.ok()) return tokens.error().with_context(text);
  TempFile logits{fs::temp_directory_path() /
                  ("qmix-compare-" + std::to_string(::getpid()) + ".logits")};
  EvalOptions opt;
  opt.n_ctx = a.ctx;
  opt.max_chunks = a.chunks;
  opt.bos_token = chunk_bos(*base.tokenizer, bos);
  opt.top_k = a.top_k;
  opt.save_logits = logits.path;
  VariantResult b{fs::path(a.models[0]).filename().string(),
                  base.file->total_file_size(),
                  base.bits_per_weight(),
                  {}};
  QMIX_TRY_ASSIGN(b.eval, evaluate(*base.engine, *tokens, opt));
  r.variants.push_back(std::move(b));
  opt.save_logits.clear();
  opt.kld_base = logits.path;
  for (size_t i = 1; i < a.models.size(); ++i) {
    QMIX_TRY_ASSIGN(VariantResult v, evaluate_variant(a, a.models[i], text, opt, *tokens));
    r.variants.push_back(std::move(v));
  }
  PairedOptions po;
  po.tokens_per_chunk = a.ctx - 1 - a.ctx / 2;
  for (size_t i = 0; i < r.variants.size(); ++i)
    for (size_t j = i + 1; j < r.variants.size(); ++j) {
      QMIX_TRY_ASSIGN(PairedResult p,
                      paired_compare(r.variants[i].eval.ppl.nll, r.variants[j].eval.ppl.nll, po));
      r.pairs.push_back({{i, j}, p});
    }
  return r;
}

std::string markdown(const TextResult& r) {
  std::string s = fmt::format("### {}\n\n", fs::path(r.text).filename().string());
  s += "| model | size MiB | bpw | PPL | ± | KLD mean | KLD p99 | same top % |\n";
  s += "|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const VariantResult& v : r.variants) {
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
  for (const auto& [ij, p] : r.pairs)
    s += fmt::format("| {} | {} | {:+.5f} | {:.5f} | [{:+.5f}, {:+.5f}] | {} |\n",
                     r.variants[ij.first].name, r.variants[ij.second].name, p.mean_delta,
                     p.std_error, p.ci_low, p.ci_high, p.distinguishable ? "yes" : "no");
  return s;
}

nlohmann::json to_json(const TextResult& r) {
  nlohmann::json j = {
      {"text", r.text}, {"variants", nlohmann::json::array()}, {"paired", nlohmann::json::array()}};
  for (const VariantResult& v : r.variants) {
    nlohmann::json e = eval_json(v.eval);
    e["model"] = v.name;
    e["bytes"] = v.bytes;
    e["bpw"] = v.bpw;
    j["variants"].push_back(e);
  }
  for (const auto& [ij, p] : r.pairs)
    j["paired"].push_back({{"a", r.variants[ij.first].name},
                           {"b", r.variants[ij.second].name},
                           {"mean_delta_nll", p.mean_delta},
                           {"std_error", p.std_error},
                           {"ci_low", p.ci_low},
                           {"ci_high", p.ci_high},
                           {"tokens", p.tokens},
                           {"chunks", p.chunks},
                           {"distinguishable", p.distinguishable}});
  return j;
}

int run_compare(const CompareArgs& a) {
  if (a.models.size() < 2)
    return report_error(make_error(ErrorCode::kInvalidArgument,
                                   "compare needs a base model and at least one variant"));
  nlohmann::json all = nlohmann::json::array();
  for (const std::string& text : a.texts) {
    auto r = compare_on_text(a, text);
    if (!r.ok()) return report_error(r.error());
    all.push_back(to_json(*r));
    if (!a.json) std::printf("%s\n", markdown(*r).c_str());
  }
  const std::string doc = nlohmann::json{{"schema", "qmix.compare/1"}, {"texts", all}}.dump(1);
  if (a.json) std::printf("%s\n", doc.c_str());
  if (!a.json_out.empty()) {
    auto out = AtomicFile::create(a.json_out);
    if (!out.ok()) return report_error(out.error());
    Status st = out->write(std::as_bytes(std::span(doc.data(), doc.size())));
    if (st.ok()) st = out->commit();
    if (!st.ok()) return report_error(st.error());
  }
  return 0;
}

}  // namespace

void register_compare(CLI::App& app, CommandTable& table) {
  auto a = std::make_shared<CompareArgs>();
  CLI::App* sub = app.add_subcommand(
      "compare", "Compare variants against a base model: PPL, KLD, paired tests on each text");
  sub->add_option("models", a->models, "BASE.gguf then the variants")->required();
  sub->add_option("-f,--file", a->texts, "text file (repeatable)")->required();
  sub->add_option("-c,--ctx", a->ctx, "tokens per chunk")->capture_default_str();
  sub->add_option("--chunks", a->chunks, "evaluate at most this many chunks per text");
  sub->add_option("--bos", a->bos, "auto|yes|no")->capture_default_str();
  sub->add_option("-t,--threads", a->threads, "threads (0: all cores)");
  sub->add_option("--top-k", a->top_k, "base distribution entries kept per token")
      ->capture_default_str();
  sub->add_flag("--json", a->json, "JSON output");
  sub->add_option("--json-out", a->json_out, "also write the JSON to this file");
  table.add(sub, [a] { return run_compare(*a); });
}

}  // namespace qmix::cli
