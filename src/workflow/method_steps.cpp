#include "workflow/method_steps.h"

#include <map>
#include <memory>

#include "convert/converter.h"
#include "core/byte_size.h"
#include "core/mapped_file.h"
#include "eval/compare_models.h"
#include "gguf/gguf_model.h"
#include "imatrix/collector.h"
#include "imatrix/compare.h"
#include "imatrix/imatrix_file.h"
#include "imatrix/render.h"
#include "model/fit_table.h"
#include "model/inspect_json.h"
#include "model/inspect_summary.h"
#include "recipe/derive.h"
#include "recipe/extract.h"
#include "recipe/importance.h"
#include "recipe/planner.h"
#include "recipe/quantize_model.h"
#include "recipe/quantize_recipe.h"
#include "recipe/recipe_toml.h"
#include "recipe/tensor_plan.h"
#include "report/report_document.h"
#include "tokenizer/tokenizer.h"
#include "workflow/kld_probe.h"

namespace qmix::workflow::steps {

namespace fs = std::filesystem;

namespace {

// Library warnings (e.g. a recipe rule matching no tensor) go to the run's sink, if any.
class Warnings final : public WarningSink {
 public:
  explicit Warnings(WarningSink* to) : to_(to) {}
  void warn(std::string_view message) override {
    if (to_) to_->warn(message);
  }

 private:
  WarningSink* to_;
};

Status save_json(const nlohmann::json& j, const fs::path& path) {
  return save_text(j.dump(1) + "\n", path);
}

Expected<std::string> read_text(const fs::path& path) { return report::read_text_file(path); }

}  // namespace

Status convert(const WorkflowConfig& c, const WorkflowPaths& p, const StepContext& ctx) {
  ConvertOptions o;
  o.outtype = c.outtype;
  o.threads = c.threads;
  o.progress = ctx.progress;
  o.cancel = ctx.cancel;
  const auto r = convert_model(c.hf_dir, p.base_model, o);
  return r.ok() ? ok_status() : Status(r.error());
}

Status collect_imatrix(const WorkflowConfig& c, const fs::path& model_path, const fs::path& text,
                       const fs::path& out, const StepContext& ctx) {
  QMIX_TRY_ASSIGN(const GgufModel model, GgufModel::open(model_path));
  ThreadPool pool(c.threads);
  ImatrixCollector collector(OutputWeight::kSkip, &pool);
  QMIX_TRY_ASSIGN(auto engine,
                  Engine::create(model, {.threads = c.threads, .observer = &collector}));
  auto tokenizer = Tokenizer::from_gguf(model.metadata());
  if (!tokenizer.ok()) return tokenizer.error().with_context(model_path.string());
  QMIX_TRY_ASSIGN(const std::string corpus, read_text(text));
  const auto tokens = tokenizer->encode(corpus, {.add_special = true});
  CollectOptions o;
  o.n_ctx = c.calibration_ctx;
  o.max_chunks = c.calibration_chunks;
  if (tokenizer->adds_bos() && tokenizer->valid_token(tokenizer->bos_id()))
    o.bos_token = tokenizer->bos_id();
  o.datasets = {text.filename().string()};
  o.progress = ctx.progress;
  o.cancel = ctx.cancel;
  QMIX_TRY_ASSIGN(const CollectResult r, qmix::collect_imatrix(*engine, collector, tokens, o));
  if (r.cancelled) return make_error(ErrorCode::kCancelled, "interrupted");
  if (r.imatrix.chunk_count == 0)
    return make_error(ErrorCode::kInvalidArgument, "{}: {} tokens, fewer than one chunk of {}",
                      text.string(), tokens.size(), c.calibration_ctx);
  return write_imatrix(r.imatrix, out, ImatrixFormat::kGguf);
}

namespace {

Expected<ImatrixComparison> comparison(const WorkflowConfig& c, const WorkflowPaths& p) {
  QMIX_TRY_ASSIGN(const Imatrix domain, read_imatrix(p.domain_imatrix));
  QMIX_TRY_ASSIGN(const Imatrix generic, read_imatrix(p.generic_imatrix));
  CompareOptions o;
  o.demote_below = c.demote_below;
  o.promote_above = c.promote_above;
  o.zone_size = c.zones;
  return qmix::compare_imatrices(domain, generic, o);
}

}  // namespace

Status compare_imatrices(const WorkflowConfig& c, const WorkflowPaths& p, const StepContext&) {
  QMIX_TRY_ASSIGN(const ImatrixComparison cmp, comparison(c, p));
  const CompareRender render{c.top, c.demote_below, c.promote_above};
  QMIX_TRY(save_json(comparison_json(cmp, render), p.imatrix_compare_json));
  QMIX_TRY(save_text(comparison_text(cmp, render), p.imatrix_compare_text));
  RecipePatchOptions patch;
  patch.demote_type = c.demote_type;
  patch.promote_type = c.promote_type;
  patch.domain_name = p.domain_imatrix.filename().string();
  patch.generic_name = p.generic_imatrix.filename().string();
  return save_text(recipe_patch_toml(cmp, patch), p.recipe_patch);
}

namespace {

// The plan a preset makes on the base model (with an imatrix, as the variants that use recipes
// are quantized).
Expected<QuantPlan> preset_plan(const fs::path& model_path, const std::string& preset,
                                const std::vector<TensorRule>& rules = {}) {
  QMIX_TRY_ASSIGN(const GgufModel model, GgufModel::open(model_path));
  QMIX_TRY_ASSIGN(const PlanModel plan_model, plan_model_from_gguf(model));
  PlanOptions o;
  QMIX_TRY_ASSIGN(o.preset, find_preset(preset));
  o.rules = rules;
  o.has_imatrix = true;
  return compute_plan(plan_model, o);
}

}  // namespace

Status base_recipe(const WorkflowConfig& c, const WorkflowPaths& p, const StepContext&) {
  QMIX_TRY_ASSIGN(const QuantPlan plan, preset_plan(p.base_model, c.derive_base));
  QMIX_TRY_ASSIGN(ModelTensors tensors, read_model_tensors(p.base_model));
  std::map<std::string, GgmlType> decided;
  for (const TensorDecision& d : plan.tensors) decided[d.name] = d.type;
  for (TensorDesc& t : tensors.tensors)
    if (const auto it = decided.find(t.name); it != decided.end()) t.type = it->second;
  tensors.source = fmt::format("{}'s plan for {}", c.derive_base, p.base_model.filename().string());
  ExtractOptions o;
  o.name = fmt::format("{} {}", c.name, c.derive_base);
  o.prefer_embedded = false;
  QMIX_TRY_ASSIGN(ExtractResult r, extract_recipe(tensors, o));
  r.recipe.base = c.derive_base;
  r.recipe.description = fmt::format("{}'s choices on {}, extracted by qmix workflow",
                                     c.derive_base, p.base_model.filename().string());
  return save_recipe(r.recipe, p.base_recipe);
}

Status derive_recipes(const WorkflowConfig& c, const WorkflowPaths& p, const StepContext&) {
  QMIX_TRY_ASSIGN(const Recipe base, load_recipe(p.base_recipe));
  QMIX_TRY_ASSIGN(const ImatrixComparison cmp, comparison(c, p));
  // The model's sizes make level 1 budget-neutral (promotions paid for by demotions).
  QMIX_TRY_ASSIGN(const ModelTensors sizes, read_model_tensors(p.base_model));
  for (const auto& [level, path] : p.derived_recipes) {
    DeriveOptions o;
    o.level = level;
    o.sizes = &sizes;
    o.top_n = c.top_n;
    o.top_m = c.top_m;
    o.domain_name = p.domain_imatrix.filename().string();
    o.generic_name = p.generic_imatrix.filename().string();
    QMIX_TRY_ASSIGN(DeriveResult d, derive_recipe(base, cmp, o));
    d.recipe.name = fmt::format("{} derived level {}", c.name, level);
    QMIX_TRY(save_recipe(d.recipe, path));
  }
  return ok_status();
}

Status plan(const WorkflowConfig& c, const WorkflowPaths& p, const VariantSpec& v,
            const StepContext& ctx) {
  PlanRequest r;
  r.model = p.base_model;
  if (c.plan_domain_weight > 0) r.imatrices.push_back({p.domain_imatrix, c.plan_domain_weight});
  if (c.plan_generic_weight > 0) r.imatrices.push_back({p.generic_imatrix, c.plan_generic_weight});
  // The errors are measured with the imatrix the variant is quantized with.
  r.quantize_imatrix = v.imatrix == ImatrixChoice::kGeneric ? p.generic_imatrix : p.domain_imatrix;
  r.budget.kind = BudgetKind::kBitsPerWeight;
  r.budget.bpw = v.plan_bpw;
  r.base = v.preset;
  r.cache_dir = c.output_dir / "plan-cache";
  r.threads = c.threads;
  r.progress = ctx.progress;
  r.warnings = ctx.warnings;
  r.cancel = ctx.cancel;
  std::unique_ptr<KldProbe> probe;
  if (!c.plan_measure_text.empty()) {
    QMIX_TRY_ASSIGN(probe, KldProbe::create({p.base_model, c.plan_measure_text, r.quantize_imatrix,
                                             c.plan_measure_ctx, c.plan_measure_chunks, r.cache_dir,
                                             ctx.cancel}));
    r.probe = probe.get();
    r.probe_zones = c.plan_measure_zones;
  }
  QMIX_TRY_ASSIGN(PlanResult result, plan_recipe(r));
  return save_recipe(result.recipe, p.planned_recipes.at(v.name));
}

Status quantize(const WorkflowConfig& c, const WorkflowPaths& p, const VariantSpec& v,
                const StepContext& ctx) {
  Warnings warnings(ctx.warnings);
  QMIX_TRY_ASSIGN(const GgufModel model, GgufModel::open(p.base_model));
  QMIX_TRY_ASSIGN(const PlanModel plan_model, plan_model_from_gguf(model));
  std::optional<ImportanceData> importance;
  if (v.imatrix != ImatrixChoice::kNone) {
    const fs::path im = v.imatrix == ImatrixChoice::kDomain ? p.domain_imatrix : p.generic_imatrix;
    QMIX_TRY_ASSIGN(importance, read_importance(im, {}));
  }
  PlanOptions o;
  QMIX_TRY_ASSIGN(o.preset, find_preset(v.preset));
  o.has_imatrix = importance.has_value();
  std::optional<GgufKv> recipe_kv;
  if (const fs::path recipe = p.recipe_of(v); !recipe.empty()) {
    QMIX_TRY_ASSIGN(const auto q, load_quantize_recipe(recipe.string()));
    QMIX_TRY_ASSIGN(recipe_kv, add_recipe_rules(*q, plan_model, LayerMapping::kExact, o, warnings));
  }
  QMIX_TRY_ASSIGN(const QuantPlan plan, compute_plan(plan_model, o));
  QuantizeJob job;
  job.plan = &plan;
  job.imatrix = importance ? &*importance : nullptr;
  if (recipe_kv) job.metadata_overrides.push_back(std::move(*recipe_kv));
  job.threads = c.threads;
  job.progress = ctx.progress;
  job.warnings = &warnings;
  job.cancel = ctx.cancel;
  return quantize_model(model, p.variants.at(v.name), job);
}

Status evaluate(const WorkflowConfig& c, const WorkflowPaths& p, const StepContext& ctx) {
  std::vector<fs::path> models{p.base_model};
  for (const VariantSpec& v : c.variants) models.push_back(p.variants.at(v.name));
  CompareModelsOptions o;
  o.n_ctx = c.eval_ctx;
  o.max_chunks = c.eval_chunks;
  o.threads = c.threads;
  o.scratch_dir = p.compare_json.parent_path();
  o.progress = ctx.progress;
  o.cancel = ctx.cancel;
  std::vector<TextComparison> texts;
  std::string summary;
  for (const fs::path& text : c.eval_texts) {
    QMIX_TRY_ASSIGN(TextComparison t, compare_models_on_text(models, text, o));
    summary += comparison_markdown(t) + "\n";
    texts.push_back(std::move(t));
  }
  QMIX_TRY(save_json(compare_document(texts), p.compare_json));
  return save_text(summary, p.summary);
}

Status fit(const WorkflowConfig& c, const WorkflowPaths& p, const StepContext&) {
  const fs::path& path = p.variants.at(c.fit_variant);
  QMIX_TRY_ASSIGN(const GgufModel model, GgufModel::open(path));
  auto hp = read_hparams(model.metadata());
  if (!hp.ok()) return hp.error().with_context(path.string());
  uint64_t weights = 0;
  for (const GgufTensorRef& t : model.tensors()) weights += t.info->n_bytes;
  FitRequest request;
  request.kv_types = c.kv_types;
  QMIX_TRY_ASSIGN(request.budget, parse_byte_size(c.vram));
  QMIX_TRY_ASSIGN(const auto rows, fit_rows(*hp, weights, request));
  return save_json(fit_json(path.filename().string(), *hp, weights, rows, request.budget),
                   p.fit_json);
}

Status inspect(const WorkflowConfig& c, const WorkflowPaths& p, const StepContext&) {
  QMIX_TRY_ASSIGN(const GgufModel model, GgufModel::open(p.variants.at(c.report_variant)));
  const InspectSummary summary = summarize_model(model);
  return save_json(inspect_json(summary, model.metadata().kvs(), ArrayDetail::kHead),
                   p.inspect_json);
}

Status report(const WorkflowConfig& c, const WorkflowPaths& p, const StepContext&) {
  report::ReportSources s;
  s.title = c.title;
  s.top_tensors = c.top;
  QMIX_TRY_ASSIGN(s.inspect, report::read_json_file(p.inspect_json));
  QMIX_TRY_ASSIGN(s.imatrix_compare, report::read_json_file(p.imatrix_compare_json));
  QMIX_TRY_ASSIGN(s.compare, report::read_json_file(p.compare_json));
  QMIX_TRY_ASSIGN(s.fit, report::read_json_file(p.fit_json));
  const fs::path recipe = p.recipe_of(*c.variant(c.report_variant));
  const fs::path shown = recipe.empty() ? p.recipe_patch : recipe;
  QMIX_TRY_ASSIGN(s.recipe_toml, read_text(shown));
  s.recipe_name = shown.filename().string();
  return report::write_report(s, p.report);
}

}  // namespace qmix::workflow::steps
