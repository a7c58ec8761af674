// `qmix fit MODEL.gguf --vram 24GiB` (largest context that fits) and/or `--ctx N` (memory that
// context needs), per KV-cache type; `--shape NAME --bpw B` sizes a model without its file.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/table.h"
#include "core/byte_size.h"
#include "gguf/gguf_model.h"
#include "model/fit_table.h"
#include "model/synth.h"

namespace qmix::cli {
namespace {

struct FitArgs {
  std::string model, shape, vram, overhead = "512MiB";
  std::vector<std::string> kv_types{"f16", "q8_0", "q4_0"};
  double bpw = 0;
  int64_t ctx = 0, n_seq = 1, ubatch = 512;
  bool no_flash_attn = false, json = false;
};

struct SizedModel {
  HParams hp;
  uint64_t weight_bytes = 0;
  std::string name;
};

Expected<SizedModel> size_model(const FitArgs& a) {
  SizedModel m;
  if (!a.model.empty()) {
    QMIX_TRY_ASSIGN(GgufModel model, GgufModel::open(a.model));
    auto hp = read_hparams(model.metadata());
    if (!hp.ok()) return hp.error().with_context(a.model);
    m.hp = *hp;
    for (const GgufTensorRef& t : model.tensors()) m.weight_bytes += t.info->n_bytes;
    m.name = a.model;
    return m;
  }
  if (a.shape.empty() || a.bpw <= 0)
    return make_error(ErrorCode::kInvalidArgument, "give a MODEL.gguf, or --shape and --bpw");
  QMIX_TRY_ASSIGN(const SynthSpec spec, synth_shape(a.shape));
  QMIX_TRY_ASSIGN(m.hp, synth_hparams(spec));
  QMIX_TRY_ASSIGN(const int64_t n, synth_weight_count(spec));
  m.weight_bytes = static_cast<uint64_t>(static_cast<double>(n) * a.bpw / 8.0);
  m.name = fmt::format("{} at {} bpw", a.shape, a.bpw);
  return m;
}

Expected<std::vector<FitRow>> table_rows(const FitArgs& a, const SizedModel& m, uint64_t budget) {
  FitRequest request;
  request.kv_types = a.kv_types;
  request.budget = budget;
  request.ctx = a.ctx;
  request.memory.n_seq = a.n_seq;
  request.memory.n_ubatch = a.ubatch;
  request.memory.flash_attention = !a.no_flash_attn;
  QMIX_TRY_ASSIGN(request.memory.runtime_overhead, parse_byte_size(a.overhead));
  return fit_rows(m.hp, m.weight_bytes, request);
}

void print_text(const SizedModel& m, const std::vector<FitRow>& rows, uint64_t budget,
                int64_t ctx) {
  std::printf(
      "%s: weights %s, %lld of %lld layers with a KV cache, recurrent state %s\n", m.name.c_str(),
      format_bytes(m.weight_bytes).c_str(), static_cast<long long>(m.hp.n_attention_layers()),
      static_cast<long long>(m.hp.n_layer), format_bytes(recurrent_state_bytes(m.hp)).c_str());
  const auto right = [](std::string h) { return TableColumn{std::move(h), Align::kRight}; };
  TextTable t({{"kv type"},
               right("KV/token"),
               right(budget && ctx <= 0 ? "max ctx" : "ctx"),
               right("KV cache"),
               right("state"),
               right("compute"),
               right("overhead"),
               right("total")});
  for (const FitRow& r : rows) {
    const int64_t shown = budget && ctx <= 0 ? r.max_ctx : ctx;
    t.add_row({r.kv, format_bytes(r.kv_per_token), std::to_string(shown),
               format_bytes(r.at_ctx.kv_cache), format_bytes(r.at_ctx.recurrent_state),
               format_bytes(r.at_ctx.compute), format_bytes(r.at_ctx.overhead),
               format_bytes(r.at_ctx.total())});
  }
  std::printf("%s", t.render().c_str());
  if (budget) std::printf("budget %s\n", format_bytes(budget).c_str());
}

int run_fit(const FitArgs& a) {
  auto m = size_model(a);
  if (!m.ok()) return report_error(m.error());
  uint64_t budget = 0;
  if (!a.vram.empty()) {
    auto b = parse_byte_size(a.vram);
    if (!b.ok()) return report_error(b.error().with_context("--vram"));
    budget = *b;
  }
  if (budget == 0 && a.ctx <= 0)
    return report_error(make_error(ErrorCode::kInvalidArgument, "give --vram, --ctx or both"));
  auto rows = table_rows(a, *m, budget);
  if (!rows.ok()) return report_error(rows.error());
  if (a.json)
    std::printf("%s\n", fit_json(m->name, m->hp, m->weight_bytes, *rows, budget).dump(1).c_str());
  else
    print_text(*m, *rows, budget, a.ctx);
  return 0;
}

}  // namespace

void register_fit(CLI::App& app, CommandTable& table) {
  auto a = std::make_shared<FitArgs>();
  CLI::App* sub = app.add_subcommand(
      "fit", "Largest context that fits a VRAM budget, or the memory a context needs");
  sub->add_option("model", a->model, "GGUF model (or use --shape and --bpw)");
  sub->add_option("--vram", a->vram, "memory budget, e.g. 24GiB");
  sub->add_option("--ctx", a->ctx, "context length to size");
  sub->add_option("--kv-type", a->kv_types, "KV-cache types to tabulate (f16, q8_0, q4_0, …)")
      ->capture_default_str();
  sub->add_option("--shape", a->shape, "named shape instead of a file: " + synth_shape_names());
  sub->add_option("--bpw", a->bpw, "bits per weight of the quantized shape");
  sub->add_option("--parallel", a->n_seq, "sequences (each keeps its recurrent state)");
  sub->add_option("--ubatch", a->ubatch, "tokens per compute step")->capture_default_str();
  sub->add_option("--overhead", a->overhead, "runtime overhead to reserve")->capture_default_str();
  sub->add_flag("--no-flash-attn", a->no_flash_attn, "count the KQ score buffer");
  sub->add_flag("--json", a->json, "JSON output");
  table.add(sub, [a] { return run_fit(*a); });
}

}  // namespace qmix::cli
