// `qmix plan MODEL.gguf --imatrix I [--imatrix J …] (--target-bpw B | --size S | --vram V
// --ctx N)`: the recipe with the least predicted loss under a size budget (issue #12,
// recipe/planner.h, docs/plan.md). stdout carries the recipe (or, with --json, the plan as
// JSON); the summary and the --explain table go to stderr.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/interrupt.h"
#include "cli/progress_bar.h"
#include "cli/table.h"
#include "core/byte_size.h"
#include "recipe/planner.h"
#include "recipe/recipe_toml.h"
#include "workflow/kld_probe.h"

namespace qmix::cli {
namespace {

namespace fs = std::filesystem;

struct PlanArgs {
  std::string model, out, base = "Q4_K_M", size, vram, kv_type = "f16", loss = "absolute";
  std::string cache_dir, quantize_imatrix, measure;
  std::vector<std::string> imatrices, candidates;
  std::vector<double> mix;
  double target_bpw = 0;
  int64_t ctx = 0, sample_rows = 512, measure_ctx = 128, measure_chunks = 8;
  int threads = 0, measure_zones = 5;
  bool explain = false, json = false, no_cache = false;
};

class StderrWarnings final : public WarningSink {
 public:
  void warn(std::string_view message) override {
    std::fprintf(stderr, "qmix: warning: %.*s\n", static_cast<int>(message.size()), message.data());
  }
};

// $XDG_CACHE_HOME/qmix/sensitivity, else ~/.cache/qmix/sensitivity (none without either).
fs::path default_cache_dir() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return fs::path(xdg) / "qmix" / "sensitivity";
  if (const char* home = std::getenv("HOME"); home && *home)
    return fs::path(home) / ".cache" / "qmix" / "sensitivity";
  return {};
}

Expected<PlanBudget> parse_budget(const PlanArgs& a) {
  const int given = (a.target_bpw > 0) + !a.size.empty() + !a.vram.empty();
  if (given != 1)
    return make_error(ErrorCode::kInvalidArgument,
                      "give exactly one budget: --target-bpw, --size or --vram (with --ctx)");
  PlanBudget b;
  if (a.target_bpw > 0) {
    b.bpw = a.target_bpw;
    return b;
  }
  if (!a.size.empty()) {
    b.kind = BudgetKind::kBytes;
    auto bytes = parse_byte_size(a.size);
    if (!bytes.ok()) return bytes.error().with_context("--size");
    b.bytes = *bytes;
    return b;
  }
  b.kind = BudgetKind::kVram;
  auto bytes = parse_byte_size(a.vram);
  if (!bytes.ok()) return bytes.error().with_context("--vram");
  b.bytes = *bytes;
  if (a.ctx <= 0) return make_error(ErrorCode::kInvalidArgument, "--vram needs --ctx N");
  b.ctx = a.ctx;
  QMIX_TRY_ASSIGN(const QuantType* kv, quant_type_by_name(a.kv_type));
  b.kv_type = kv->id;
  return b;
}

Expected<PlanRequest> make_request(const PlanArgs& a) {
  PlanRequest r;
  r.model = a.model;
  if (a.imatrices.empty())
    return make_error(ErrorCode::kInvalidArgument, "give at least one --imatrix FILE");
  if (!a.mix.empty() && a.mix.size() != a.imatrices.size())
    return make_error(ErrorCode::kInvalidArgument, "--mix has {} weights for {} imatrices",
                      a.mix.size(), a.imatrices.size());
  for (size_t i = 0; i < a.imatrices.size(); ++i)
    r.imatrices.push_back({a.imatrices[i], a.mix.empty() ? 1.0 : a.mix[i]});
  r.quantize_imatrix = a.quantize_imatrix;
  QMIX_TRY_ASSIGN(r.budget, parse_budget(a));
  if (fs::exists(a.base) && !fs::is_directory(a.base)) {
    QMIX_TRY_ASSIGN(r.base_recipe, load_recipe(a.base));
  } else {
    r.base = a.base;
  }
  for (const std::string& name : a.candidates) {
    QMIX_TRY_ASSIGN(const QuantType* t, quant_type_by_name(name));
    r.candidates.push_back(t->id);
  }
  QMIX_TRY_ASSIGN(r.loss, loss_model_by_name(a.loss));
  r.cache_dir = a.no_cache            ? fs::path()
                : a.cache_dir.empty() ? default_cache_dir()
                                      : fs::path(a.cache_dir);
  r.sample_rows = a.sample_rows;
  r.probe_zones = a.measure_zones;
  r.threads = a.threads;
  return r;
}

std::string fmt_gain(double v) { return std::isfinite(v) ? fmt::format("{:.3g}", v) : "-"; }

// The marginal-gain table: every quantized tensor, its base and planned type, and what the
// bytes of each step buy.
std::string explain_table(const PlanResult& r) {
  const auto right = [](std::string h) { return TableColumn{std::move(h), Align::kRight}; };
  TextTable t({{"tensor"},
               {"base"},
               {"plan"},
               {""},
               right("bytes"),
               right("base loss"),
               right("loss"),
               right("gain/byte in"),
               right("gain/byte next"),
               {"limit"}});
  for (const PlanEntry& p : r.tensors) {
    if (p.status == PlanStatus::kNotQuantized) continue;
    const double diff = type_bits(p.type) - type_bits(p.base_type);
    const std::string mark = p.status == PlanStatus::kFixedByRule ? "rule"
                             : diff > 0                           ? "+"
                             : diff < 0                           ? "-"
                                                                  : "";
    t.add_row({p.name, std::string(type_name(p.base_type)), std::string(type_name(p.type)), mark,
               format_bytes(p.bytes), fmt::format("{:.4g}", p.base_loss),
               fmt::format("{:.4g}", p.loss), fmt_gain(p.gain_per_byte),
               fmt_gain(p.next_gain_per_byte), p.constraint});
  }
  return t.render() + fmt::format("lambda (loss per byte at the optimum): {:.4g}\n", r.lambda);
}

std::string summary(const PlanResult& r) {
  size_t promoted = 0, demoted = 0;
  for (const PlanEntry& p : r.tensors) {
    if (p.status != PlanStatus::kPlanned) continue;
    promoted += type_bits(p.type) > type_bits(p.base_type);
    demoted += type_bits(p.type) < type_bits(p.base_type);
  }
  return fmt::format(
      "qmix: plan {:.4f} bpw ({}), budget {} ({:.4f} bpw), smallest possible {:.4f} bpw\n"
      "qmix: predicted loss {:.6g}; base {} {:.6g} at {:.4f} bpw; {} promoted, {} demoted vs "
      "the base; sensitivity: {} tensors measured, {} from cache\n",
      r.bpw, format_bytes(r.bytes), format_bytes(r.budget_bytes),
      8.0 * static_cast<double>(r.budget_bytes) / static_cast<double>(r.n_elements),
      8.0 * static_cast<double>(r.min_bytes) / static_cast<double>(r.n_elements), r.predicted_loss,
      r.base_preset, r.base_predicted_loss, r.base_bpw, promoted, demoted, r.measured_tensors,
      r.cached_tensors);
}

nlohmann::json to_json(const PlanResult& r) {
  const auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nullptr; };
  nlohmann::json j = {{"schema", "qmix.plan/1"},
                      {"base_preset", r.base_preset},
                      {"n_elements", r.n_elements},
                      {"budget_bytes", r.budget_bytes},
                      {"bytes", r.bytes},
                      {"bpw", r.bpw},
                      {"min_bytes", r.min_bytes},
                      {"base_bytes", r.base_bytes},
                      {"base_bpw", r.base_bpw},
                      {"predicted_loss", r.predicted_loss},
                      {"base_predicted_loss", r.base_predicted_loss},
                      {"lambda", r.lambda},
                      {"scales", r.scales},
                      {"quantize_imatrix", r.quantize_imatrix},
                      {"recipe", write_recipe(r.recipe)},
                      {"tensors", nlohmann::json::array()}};
  for (const PlanEntry& p : r.tensors) {
    nlohmann::json options = nlohmann::json::array();
    for (const PlanOption& o : p.options)
      options.push_back({{"type", type_name(o.type)},
                         {"bytes", o.bytes},
                         {"error", num(o.error)},
                         {"loss", num(o.loss)}});
    j["tensors"].push_back({{"name", p.name},
                            {"role", p.role},
                            {"scale_group", p.scale_group},
                            {"status", plan_status_name(p.status)},
                            {"base_type", type_name(p.base_type)},
                            {"type", type_name(p.type)},
                            {"bytes", p.bytes},
                            {"n_elements", p.n_elements},
                            {"energy", num(p.energy)},
                            {"loss", num(p.loss)},
                            {"base_loss", num(p.base_loss)},
                            {"gain_per_byte", num(p.gain_per_byte)},
                            {"next_gain_per_byte", num(p.next_gain_per_byte)},
                            {"constraint", p.constraint},
                            {"options", options}});
  }
  return j;
}

Status write_out(const std::string& text, const std::string& path) {
  if (path.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return std::fflush(stdout) == 0
               ? ok_status()
               : Status(make_error(ErrorCode::kIo, "writing to stdout failed"));
  }
  return save_text(text, path);
}

Status run_plan(const PlanArgs& a) {
  QMIX_TRY_ASSIGN(PlanRequest req, make_request(a));
  InterruptGuard interrupt;
  ProgressBar bar("sensitivity");
  StderrWarnings warnings;
  req.progress = &bar;
  req.warnings = &warnings;
  req.cancel = &interrupt.token();
  std::unique_ptr<KldProbe> probe;
  if (!a.measure.empty()) {
    QMIX_TRY_ASSIGN(
        probe,
        KldProbe::create(
            {a.model, a.measure,
             req.quantize_imatrix.empty() ? req.imatrices.front().path : req.quantize_imatrix,
             a.measure_ctx, a.measure_chunks, req.cache_dir, &interrupt.token()}));
    req.probe = probe.get();
  }
  QMIX_TRY_ASSIGN(const PlanResult r, plan_recipe(req));
  bar.finish();
  if (!a.out.empty() || !a.json) QMIX_TRY(write_out(write_recipe(r.recipe), a.out));
  if (a.json) QMIX_TRY(write_out(to_json(r).dump(1) + "\n", ""));
  std::string report = summary(r);
  if (a.explain) report = explain_table(r) + report;
  std::fputs(report.c_str(), stderr);
  return ok_status();
}

}  // namespace

void register_plan(CLI::App& app, CommandTable& table) {
  auto a = std::make_shared<PlanArgs>();
  CLI::App* sub = app.add_subcommand(
      "plan", "Per-tensor types with the least predicted loss under a size budget (a recipe)");
  sub->add_option("model", a->model, "GGUF model (bf16/f16/f32 source)")->required();
  sub->add_option("--imatrix", a->imatrices, "importance matrix (repeat to mix several)")
      ->required();
  sub->add_option("--mix", a->mix, "weights of the imatrices, e.g. 0.7,0.3")->delimiter(',');
  sub->add_option("--quantize-imatrix", a->quantize_imatrix,
                  "the imatrix quantize will use (default: the first --imatrix)");
  sub->add_option("--target-bpw", a->target_bpw, "budget in bits per weight (all tensors)");
  sub->add_option("--size", a->size, "budget for the weights in bytes, e.g. 2.2MiB, 15G");
  sub->add_option("--vram", a->vram, "memory budget; the weights get what --ctx leaves");
  sub->add_option("--ctx", a->ctx, "context length with --vram");
  sub->add_option("--kv-type", a->kv_type, "KV-cache type with --vram")->capture_default_str();
  sub->add_option("--base", a->base, "base preset or recipe TOML")->capture_default_str();
  sub->add_option("--candidates", a->candidates, "types to choose from")->delimiter(',');
  sub->add_option("--loss-model", a->loss, "relative or absolute")->capture_default_str();
  sub->add_option("--measure", a->measure, "text file: calibrate role scales by measured KLD");
  sub->add_option("--measure-ctx", a->measure_ctx, "context of --measure")->capture_default_str();
  sub->add_option("--measure-chunks", a->measure_chunks, "chunks of --measure")
      ->capture_default_str();
  sub->add_option("--measure-zones", a->measure_zones,
                  "layer zones per role of --measure (1: one scale per role; 3: first, middle, "
                  "last block; 5: first, three middle runs, last)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  sub->add_option("--sample-rows", a->sample_rows, "rows sampled per tensor")
      ->capture_default_str();
  sub->add_option("--cache-dir", a->cache_dir, "sensitivity cache (default ~/.cache/qmix)");
  sub->add_flag("--no-cache", a->no_cache, "neither read nor write the cache");
  sub->add_option("-o,--output", a->out, "write the recipe here (default: stdout)");
  sub->add_option("-t,--threads", a->threads, "threads (default: all cores)");
  sub->add_flag("--explain", a->explain, "print the marginal-gain table (stderr)");
  sub->add_flag("--json", a->json, "the plan as JSON on stdout (recipe included)");
  table.add(sub, [a] {
    const Status s = run_plan(*a);
    return s.ok() ? 0 : report_error(s.error());
  });
}

}  // namespace qmix::cli
