// `qmix recipe extract|show|apply|transfer|explain|diff|export|import` (issue #6): recipes as
// data. The rule language is in docs/recipe.md; diff/export/import live in cmd_recipe_io.cpp.
#include "cli/cmd_recipe.h"

#include <cstdio>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "recipe/explain.h"
#include "recipe/extract.h"
#include "recipe/recipe_plan.h"
#include "recipe/recipe_toml.h"
#include "recipe/transfer.h"

namespace qmix::cli {
namespace recipe_cmd {

Expected<PresetChoices> base_choices(const Recipe& recipe, const ModelTensors& model) {
  if (recipe.base.empty() || model.path.empty()) return PresetChoices{};
  QMIX_TRY_ASSIGN(const GgufModel gguf, GgufModel::open(model.path));
  QMIX_TRY_ASSIGN(const PlanModel plan_model, plan_model_from_gguf(gguf));
  return preset_choices(recipe, plan_model);
}

Status emit(std::string_view text, const std::string& path) {
  if (!path.empty()) return save_text(text, path);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 ? ok_status()
                                  : Status(make_error(ErrorCode::kIo, "writing to stdout failed"));
}

bool is_gguf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::string_view(magic, 4) == "GGUF";
}

}  // namespace recipe_cmd

namespace {

using namespace recipe_cmd;

// ---- extract -------------------------------------------------------------------------------

struct ExtractArgs {
  std::string model, out, name;
  bool ignore_embedded = false;
};

Status run_extract(const ExtractArgs& a) {
  QMIX_TRY_ASSIGN(const ModelTensors model, read_model_tensors(a.model));
  ExtractOptions options;
  options.name = a.name;
  options.prefer_embedded = !a.ignore_embedded;
  QMIX_TRY_ASSIGN(const ExtractResult r, extract_recipe(model, options));
  QMIX_TRY(emit(r.embedded_text ? *r.embedded_text : write_recipe(r.recipe), a.out));
  if (r.embedded_text) {
    std::fprintf(stderr, "qmix: %s carries its recipe (%s); returned it verbatim\n",
                 model.source.c_str(), std::string(kRecipeMetadataKey).c_str());
    return ok_status();
  }
  size_t data = 0;
  for (const RecipeRule& rule : r.recipe.rules) data += rule.provenance == Provenance::kData;
  std::fprintf(stderr,
               "qmix: %zu rules (%zu data) for %zu tensors; re-applied to %s: all %zu types "
               "identical\n",
               r.recipe.rules.size(), data, model.tensors.size(), model.source.c_str(),
               r.verified_tensors);
  return ok_status();
}

void add_extract(CLI::App& recipe, CommandTable& table) {
  auto a = std::make_shared<ExtractArgs>();
  auto* sub = recipe.add_subcommand("extract", "infer the recipe of any GGUF (header only, exact)");
  sub->add_option("model", a->model, "GGUF model (first shard of a split model)")->required();
  sub->add_option("-o,--output", a->out, "write the recipe here (default: stdout)");
  sub->add_option("--name", a->name, "recipe name (default: the file's stem)");
  sub->add_flag("--ignore-embedded", a->ignore_embedded,
                "infer from the tensor types even when the file carries its qmix recipe");
  table.add(sub, [a] {
    const Status s = run_extract(*a);
    return s.ok() ? 0 : report_error(s.error());
  });
}

// ---- show ----------------------------------------------------------------------------------

std::string evidence_text(const std::vector<EvidenceItem>& items) {
  std::string out;
  for (const EvidenceItem& e : items) {
    std::string v = std::visit(
        [](const auto& x) {
          if constexpr (std::is_same_v<std::decay_t<decltype(x)>, bool>)
            return std::string(x ? "true" : "false");
          else
            return fmt::format("{}", x);
        },
        e.value);
    out += fmt::format("{}{}={}", out.empty() ? "" : ", ", e.key, v);
  }
  return out;
}

// Rules listed by provenance: architecture, data and manual rules are kept apart.
std::string format_show(const Recipe& r) {
  std::string out = fmt::format(
      "recipe {}: base {}, architecture {}, {} blocks\n", r.name.empty() ? "(unnamed)" : r.name,
      r.base.empty() ? "-" : r.base, r.architecture.empty() ? "-" : r.architecture, r.layers);
  for (Provenance p : {Provenance::kArchitecture, Provenance::kData, Provenance::kManual}) {
    std::string section;
    for (size_t i = 0; i < r.rules.size(); ++i) {
      const RecipeRule& rule = r.rules[i];
      if (rule.provenance != p) continue;
      section += fmt::format("  #{:<3} {}\n        {}\n", i + 1, rule_summary(rule), rule.reason);
      if (!rule.evidence.empty())
        section += fmt::format("        evidence: {}\n", evidence_text(rule.evidence));
    }
    if (!section.empty()) out += fmt::format("{} rules:\n{}", provenance_name(p), section);
  }
  return out;
}

void add_show(CLI::App& recipe, CommandTable& table) {
  auto path = std::make_shared<std::string>();
  auto* sub = recipe.add_subcommand("show", "check a recipe and list its rules by provenance");
  sub->add_option("recipe", *path, "recipe (TOML)")->required();
  table.add(sub, [path] {
    auto r = load_recipe(*path);
    if (!r.ok()) return report_error(r.error());
    const Status s = emit(format_show(*r), "");
    return s.ok() ? 0 : report_error(s.error());
  });
}

// ---- apply / transfer / explain --------------------------------------------------------------

struct TargetArgs {
  std::string recipe, model, out;
  bool scale_layers = false, strict = false, dry_run = false, verbose = false, json = false;
};

// A recipe resolved on a model, with the base preset's choices it refines.
struct Target {
  ModelTensors model;
  PresetChoices base;
  TransferReport report;
};

Expected<Target> load_target(const TargetArgs& a) {
  QMIX_TRY_ASSIGN(const Recipe recipe, load_recipe(a.recipe));
  Target t;
  QMIX_TRY_ASSIGN(t.model, read_model_tensors(a.model));
  QMIX_TRY_ASSIGN(t.base, base_choices(recipe, t.model));
  QMIX_TRY_ASSIGN(
      t.report,
      transfer_recipe(recipe, t.model, a.scale_layers ? LayerMapping::kScale : LayerMapping::kExact,
                      t.base.types));
  return t;
}

nlohmann::json report_json(const Target& t) {
  const TransferReport& report = t.report;
  const ModelTensors& model = t.model;
  const Recipe& recipe = report.recipe;
  const Resolution& res = report.resolution;
  nlohmann::json j;
  j["recipe"] = recipe.name;
  j["model"] = model.source;
  j["layers_scaled"] = report.layers_scaled;
  j["architecture_mismatch"] = report.architecture_mismatch.value_or("");
  j["tensors"] = nlohmann::json::array();
  for (const ExplainRow& row : explain_resolution(recipe, model.tensors, res, t.base.reasons)) {
    j["tensors"].push_back({{"name", row.tensor},
                            {"type", row.type ? std::string(type_name(*row.type)) : ""},
                            {"rule", row.rule >= 0 ? row.rule + 1 : 0},
                            {"decided_by", row.decided_by},
                            {"reason", row.reason},
                            {"adjustment", row.adjustment},
                            {"conflict", row.conflict}});
  }
  auto& problems = j["problems"];
  problems["conflicts"] = nlohmann::json::array();
  for (const RuleConflict& c : res.conflicts)
    problems["conflicts"].push_back(describe_conflict(recipe, model.tensors, c));
  problems["unused_rules"] = nlohmann::json::array();
  for (size_t r : res.unused_rules) problems["unused_rules"].push_back(rule_label(recipe, r));
  problems["uncovered"] = nlohmann::json::array();
  for (size_t t : res.uncovered) problems["uncovered"].push_back(model.tensors[t].name);
  problems["incompatible"] = nlohmann::json::array();
  for (size_t t : res.incompatible) problems["incompatible"].push_back(model.tensors[t].name);
  return j;
}

Status strict_check(const TargetArgs& a, const TransferReport& report, const ModelTensors& model) {
  if (!a.strict || transfer_is_clean(report)) return ok_status();
  return make_error(ErrorCode::kInvalidArgument,
                    "recipe '{}' does not apply cleanly to {} (--strict; see the report above)",
                    report.recipe.name, model.source);
}

Status run_apply(const TargetArgs& a) {
  if (!a.dry_run)
    return make_error(
        ErrorCode::kInvalidArgument,
        "recipe apply only plans (--dry-run); quantize with `qmix quantize --recipe`");
  QMIX_TRY_ASSIGN(const Target t, load_target(a));
  std::string text;
  if (a.json) {
    text = report_json(t).dump(1) + "\n";
  } else {
    if (a.verbose)
      text = format_explain(t.report.recipe, t.model.tensors, t.report.resolution, t.base.reasons);
    text += format_transfer(t.report, t.model);
  }
  QMIX_TRY(emit(text, ""));
  return strict_check(a, t.report, t.model);
}

Status run_transfer(const TargetArgs& a) {
  QMIX_TRY_ASSIGN(const Target t, load_target(a));
  const std::string summary = format_transfer(t.report, t.model);
  std::fputs(summary.c_str(), stderr);
  QMIX_TRY(strict_check(a, t.report, t.model));
  return emit(write_recipe(t.report.recipe), a.out);
}

Status run_explain(const TargetArgs& a) {
  QMIX_TRY_ASSIGN(const Target t, load_target(a));
  if (a.json) return emit(report_json(t).dump(1) + "\n", "");
  return emit(format_explain(t.report.recipe, t.model.tensors, t.report.resolution, t.base.reasons),
              "");
}

CLI::App* add_target_command(CLI::App& recipe, CommandTable& table, const char* name,
                             const char* help, Status (*run)(const TargetArgs&),
                             std::shared_ptr<TargetArgs> a) {
  auto* sub = recipe.add_subcommand(name, help);
  sub->add_option("recipe", a->recipe, "recipe (TOML)")->required();
  sub->add_option("model", a->model, "target GGUF (its header only is read)")->required();
  sub->add_flag("--scale-layers", a->scale_layers,
                "map layer ranges proportionally when the block counts differ");
  table.add(sub, [a, run] {
    const Status s = run(*a);
    return s.ok() ? 0 : report_error(s.error());
  });
  return sub;
}

void add_target_commands(CLI::App& recipe, CommandTable& table) {
  auto apply = std::make_shared<TargetArgs>();
  auto* sub = add_target_command(recipe, table, "apply",
                                 "plan a recipe on a model: per-tensor types and what does not fit",
                                 run_apply, apply);
  sub->add_flag("--dry-run", apply->dry_run, "plan only (required: quantizing is `qmix quantize`)");
  sub->add_flag("--strict", apply->strict, "exit 1 unless the recipe applies cleanly");
  sub->add_flag("-v,--verbose", apply->verbose, "also print the per-tensor table");
  sub->add_flag("--json", apply->json, "machine-readable report");

  auto transfer = std::make_shared<TargetArgs>();
  sub = add_target_command(recipe, table, "transfer",
                           "adapt a recipe to another model of the architecture (report on stderr)",
                           run_transfer, transfer);
  sub->add_option("-o,--output", transfer->out, "write the adapted recipe here (default: stdout)");
  sub->add_flag("--strict", transfer->strict, "fail (writing nothing) unless it applies cleanly");

  auto explain = std::make_shared<TargetArgs>();
  sub = add_target_command(recipe, table, "explain",
                           "for every tensor, the rule that decided its type and why", run_explain,
                           explain);
  sub->add_flag("--json", explain->json, "machine-readable rows");
}

}  // namespace

void register_recipe(CLI::App& app, CommandTable& table) {
  auto* recipe =
      app.add_subcommand("recipe", "recipes as data: extract, apply, diff, explain, export");
  recipe->require_subcommand(1);
  add_extract(*recipe, table);
  add_show(*recipe, table);
  add_target_commands(*recipe, table);
  add_diff(*recipe, table);
  add_export(*recipe, table);
  add_import(*recipe, table);
  add_derive(*recipe, table);
}

}  // namespace qmix::cli
