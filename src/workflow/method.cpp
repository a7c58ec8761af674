#include "workflow/method.h"

#include <algorithm>
#include <memory>

#include "workflow/method_steps.h"

namespace qmix::workflow {

namespace fs = std::filesystem;

fs::path WorkflowPaths::recipe_of(const VariantSpec& v) const {
  if (v.derive_level > 0) return derived_recipes.at(v.derive_level);
  if (v.plan_bpw > 0) return planned_recipes.at(v.name);
  return v.recipe_file;
}

WorkflowPaths workflow_paths(const WorkflowConfig& c) {
  const fs::path& o = c.output_dir;
  WorkflowPaths p;
  p.state = o / "workflow-state.json";
  p.base_model = c.gguf.empty() ? o / fmt::format("{}.{}.gguf", c.name, c.outtype) : c.gguf;
  p.generic_imatrix = o / "imatrix" / "generic.imatrix.gguf";
  p.domain_imatrix = o / "imatrix" / "domain.imatrix.gguf";
  p.imatrix_compare_json = o / "imatrix" / "compare.json";
  p.imatrix_compare_text = o / "imatrix" / "compare.txt";
  p.recipe_patch = o / "recipes" / "domain-vs-generic.toml";
  p.base_recipe = o / "recipes" / fmt::format("base.{}.toml", c.derive_base);
  for (int level : c.derive_levels())
    p.derived_recipes[level] = o / "recipes" / fmt::format("derived.L{}.toml", level);
  for (const VariantSpec& v : c.variants) {
    p.variants[v.name] = o / "models" / fmt::format("{}.{}.gguf", c.name, v.name);
    if (v.plan_bpw > 0)
      p.planned_recipes[v.name] = o / "recipes" / fmt::format("planned.{}.toml", v.name);
  }
  p.compare_json = o / "eval" / "compare.json";
  p.summary = o / "eval" / "summary.md";
  p.fit_json = o / "fit.json";
  p.inspect_json = o / fmt::format("inspect.{}.json", c.report_variant);
  p.report = o / "report.html";
  return p;
}

namespace {

// Part of every step's parameters: bump it when a step's outputs change meaning or form (new
// report sections, other file contents), so that existing output directories are redone.
constexpr int kMethodVersion = 2;

// What every step's action refers to, shared by the steps (they may outlive the caller's config).
struct Method {
  WorkflowConfig config;
  WorkflowPaths paths;
};
using MethodPtr = std::shared_ptr<const Method>;

// A step action calling `fn(config, paths, context)`.
template <class Fn>
std::function<Status(const StepContext&)> action(const MethodPtr& m, Fn fn) {
  return [m, fn](const StepContext& x) { return fn(m->config, m->paths, x); };
}

// The files of a Hugging Face directory (a changed weight or tokenizer file reconverts).
std::vector<fs::path> directory_files(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file(ec) && e.path().filename().string().rfind('.', 0) != 0)
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string imatrix_params(const WorkflowConfig& c) {
  return fmt::format("ctx={} chunks={}", c.calibration_ctx, c.calibration_chunks);
}

std::string compare_params(const WorkflowConfig& c) {
  return fmt::format("demote_below={} promote_above={} zones={} top={} demote={} promote={}",
                     c.demote_below, c.promote_above, c.zones, c.top, c.demote_type,
                     c.promote_type);
}

void add_preparation(std::vector<Step>& s, const MethodPtr& m) {
  const WorkflowConfig& c = m->config;
  const WorkflowPaths& p = m->paths;
  if (c.gguf.empty())
    s.push_back({"convert",
                 "convert the Hugging Face model to GGUF",
                 directory_files(c.hf_dir),
                 fmt::format("outtype={}", c.outtype),
                 {p.base_model},
                 action(m, steps::convert)});
  s.push_back({"imatrix.generic",
               "importance matrix on generic text",
               {p.base_model, c.generic_text},
               imatrix_params(c),
               {p.generic_imatrix},
               action(m, [](const WorkflowConfig& c, const WorkflowPaths& p, const StepContext& x) {
                 return steps::collect_imatrix(c, p.base_model, c.generic_text, p.generic_imatrix,
                                               x);
               })});
  s.push_back({"imatrix.domain",
               "importance matrix on domain text",
               {p.base_model, c.domain_text},
               imatrix_params(c),
               {p.domain_imatrix},
               action(m, [](const WorkflowConfig& c, const WorkflowPaths& p, const StepContext& x) {
                 return steps::collect_imatrix(c, p.base_model, c.domain_text, p.domain_imatrix, x);
               })});
  s.push_back({"imatrix.compare",
               "compare domain with generic importance",
               {p.domain_imatrix, p.generic_imatrix},
               compare_params(c),
               {p.imatrix_compare_json, p.imatrix_compare_text, p.recipe_patch},
               action(m, steps::compare_imatrices)});
}

void add_recipes(std::vector<Step>& s, const MethodPtr& m) {
  const WorkflowConfig& c = m->config;
  const WorkflowPaths& p = m->paths;
  if (p.derived_recipes.empty()) return;
  s.push_back({"recipe.base",
               "the base preset's choices as a recipe",
               {p.base_model},
               fmt::format("preset={}", c.derive_base),
               {p.base_recipe},
               action(m, steps::base_recipe)});
  std::vector<fs::path> outputs;
  std::string levels;
  for (const auto& [level, path] : p.derived_recipes) {
    outputs.push_back(path);
    levels += fmt::format("{}{}", levels.empty() ? "" : ",", level);
  }
  s.push_back({"recipe.derive",
               "derive recipes from the imatrix comparison",
               // The model: level 1 is balanced on its tensor sizes.
               {p.base_recipe, p.domain_imatrix, p.generic_imatrix, p.base_model},
               fmt::format("levels={} top_n={} top_m={} level1=balanced {}", levels, c.top_n,
                           c.top_m, compare_params(c)),
               outputs,
               action(m, steps::derive_recipes)});
}

std::vector<fs::path> plan_inputs(const WorkflowConfig& c, const WorkflowPaths& p) {
  std::vector<fs::path> inputs{p.base_model, p.domain_imatrix, p.generic_imatrix};
  if (!c.plan_measure_text.empty()) inputs.push_back(c.plan_measure_text);
  return inputs;
}

std::string measure_params(const WorkflowConfig& c) {
  if (c.plan_measure_text.empty()) return "measure=none";
  return fmt::format("measure_ctx={} measure_chunks={} measure_zones={}", c.plan_measure_ctx,
                     c.plan_measure_chunks, c.plan_measure_zones);
}

void add_plans(std::vector<Step>& s, const MethodPtr& m) {
  const WorkflowConfig& c = m->config;
  const WorkflowPaths& p = m->paths;
  for (size_t i = 0; i < c.variants.size(); ++i) {
    const VariantSpec& v = c.variants[i];
    if (v.plan_bpw <= 0) continue;
    s.push_back(
        {"recipe.plan." + v.name,
         fmt::format("plan {} at {} bpw", v.name, v.plan_bpw),
         plan_inputs(c, p),
         fmt::format("bpw={} base={} imatrix={} domain_weight={} generic_weight={} {}", v.plan_bpw,
                     v.preset, imatrix_choice_name(v.imatrix), c.plan_domain_weight,
                     c.plan_generic_weight, measure_params(c)),
         {p.planned_recipes.at(v.name)},
         action(m, [i](const WorkflowConfig& c, const WorkflowPaths& p, const StepContext& x) {
           return steps::plan(c, p, c.variants[i], x);
         })});
  }
}

fs::path imatrix_of(const VariantSpec& v, const WorkflowPaths& p) {
  switch (v.imatrix) {
    case ImatrixChoice::kGeneric:
      return p.generic_imatrix;
    case ImatrixChoice::kDomain:
      return p.domain_imatrix;
    case ImatrixChoice::kNone:
      break;
  }
  return {};
}

void add_variants(std::vector<Step>& s, const MethodPtr& m) {
  const WorkflowConfig& c = m->config;
  const WorkflowPaths& p = m->paths;
  for (size_t i = 0; i < c.variants.size(); ++i) {
    const VariantSpec& v = c.variants[i];
    std::vector<fs::path> inputs{p.base_model};
    if (const fs::path im = imatrix_of(v, p); !im.empty()) inputs.push_back(im);
    if (const fs::path r = p.recipe_of(v); !r.empty()) inputs.push_back(r);
    s.push_back(
        {"quantize." + v.name,
         "quantize " + v.name,
         inputs,
         fmt::format("preset={} imatrix={}", v.preset, imatrix_choice_name(v.imatrix)),
         {p.variants.at(v.name)},
         action(m, [i](const WorkflowConfig& c, const WorkflowPaths& p, const StepContext& x) {
           return steps::quantize(c, p, c.variants[i], x);
         })});
  }
}

void add_results(std::vector<Step>& s, const MethodPtr& m) {
  const WorkflowConfig& c = m->config;
  const WorkflowPaths& p = m->paths;
  std::vector<fs::path> models{p.base_model};
  for (const VariantSpec& v : c.variants) models.push_back(p.variants.at(v.name));
  std::vector<fs::path> eval_inputs = models;
  eval_inputs.insert(eval_inputs.end(), c.eval_texts.begin(), c.eval_texts.end());
  s.push_back({"evaluate",
               "evaluate every variant against the base",
               eval_inputs,
               fmt::format("ctx={} chunks={}", c.eval_ctx, c.eval_chunks),
               {p.compare_json, p.summary},
               action(m, steps::evaluate)});
  std::string kv;
  for (const std::string& t : c.kv_types) kv += t + " ";
  s.push_back({"fit",
               "context that fits the VRAM budget",
               {p.variants.at(c.fit_variant)},
               fmt::format("vram={} kv={}", c.vram, kv),
               {p.fit_json},
               action(m, steps::fit)});
  const VariantSpec& shown = *c.variant(c.report_variant);
  s.push_back({"inspect",
               "types and bits per block of " + shown.name,
               {p.variants.at(shown.name)},
               "",
               {p.inspect_json},
               action(m, steps::inspect)});
  std::vector<fs::path> report_inputs{p.inspect_json, p.imatrix_compare_json, p.compare_json,
                                      p.fit_json};
  const fs::path recipe = p.recipe_of(shown);
  report_inputs.push_back(recipe.empty() ? p.recipe_patch : recipe);
  s.push_back({"report",
               "HTML report",
               report_inputs,
               fmt::format("title={} top={}", c.title, c.top),
               {p.report},
               action(m, steps::report)});
}

}  // namespace

std::vector<Step> method_steps(const WorkflowConfig& config) {
  const auto m = std::make_shared<const Method>(Method{config, workflow_paths(config)});
  std::vector<Step> s;
  add_preparation(s, m);
  add_recipes(s, m);
  add_plans(s, m);
  add_variants(s, m);
  add_results(s, m);
  for (Step& step : s) step.params = fmt::format("method/{} {}", kMethodVersion, step.params);
  return s;
}

}  // namespace qmix::workflow
