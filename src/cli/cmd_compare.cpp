// `qmix compare BASE V1 V2 … -f TEXT [-f TEXT …]`: per text, one table of variants (size, bpw,
// PPL ± err, KLD against BASE, same-top %) and paired tests between every two models on
// identical tokens (mean ΔNLL ± SE, chunk-bootstrap interval, distinguishable or not).
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/interrupt.h"
#include "core/atomic_file.h"
#include "eval/compare_models.h"

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

int run_compare(const CompareArgs& a) {
  auto bos = parse_bos_policy(a.bos);
  if (!bos.ok()) return report_error(bos.error());
  CompareModelsOptions o;
  o.n_ctx = a.ctx;
  o.max_chunks = a.chunks;
  o.bos = *bos;
  o.threads = a.threads;
  o.top_k = a.top_k;
  InterruptGuard interrupt;
  o.cancel = &interrupt.token();
  const std::vector<fs::path> models(a.models.begin(), a.models.end());
  std::vector<TextComparison> results;
  for (const std::string& text : a.texts) {
    auto r = compare_models_on_text(models, text, o);
    if (!r.ok()) return report_error(r.error());
    if (!a.json) std::printf("%s\n", comparison_markdown(*r).c_str());
    results.push_back(std::move(*r));
  }
  const std::string doc = compare_document(results).dump(1);
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
