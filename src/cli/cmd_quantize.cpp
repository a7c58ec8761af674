// `qmix quantize [options] INPUT.gguf [OUTPUT.gguf] TYPE [nthreads]`: llama-quantize's command
// line (presets, --tensor-type rules, --imatrix, flags) over qmix's plan (recipe/tensor_plan.h)
// and streaming quantizer (recipe/quantize_model.h); --dry-run prints the same plan instead.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/interrupt.h"
#include "cli/progress_bar.h"
#include "cli/quantize_report.h"
#include "recipe/importance.h"
#include "recipe/presets.h"
#include "recipe/quantize_model.h"
#include "recipe/quantize_recipe.h"
#include "recipe/tensor_plan.h"

namespace qmix::cli {
namespace {

struct QuantizeArgs {
  std::vector<std::string> positional;  // INPUT [OUTPUT] TYPE [nthreads]
  std::string imatrix;
  std::vector<std::string> include_weights;
  std::vector<std::string> exclude_weights;
  std::string output_tensor_type;
  std::string token_embedding_type;
  std::vector<std::string> tensor_types;  // PATTERN=TYPE
  std::string tensor_type_file;
  std::vector<std::string> override_kv;  // KEY=TYPE:VALUE
  bool pure = false;
  bool keep_split = false;
  bool leave_output_tensor = false;
  bool allow_requantize = false;
  bool dry_run = false;
  bool json = false;
  bool list_presets = false;
  bool ggml_reference = false;
  int threads = 0;
  std::string recipe;         // --recipe FILE (docs/recipe.md)
  bool scale_layers = false;  // map the recipe's layer ranges to another block count
};

struct Invocation {
  std::string input;
  std::string output;  // empty for --dry-run without one
  const Preset* preset = nullptr;
  int threads = 0;
};

class StderrWarnings final : public WarningSink {
 public:
  void warn(std::string_view message) override {
    std::fprintf(stderr, "qmix: warning: %.*s\n", static_cast<int>(message.size()), message.data());
  }
};

// llama-quantize's positional forms: INPUT OUTPUT TYPE [nthreads] and INPUT TYPE [nthreads]
// (the output then goes beside the input as ggml-model-TYPE.gguf).
Expected<Invocation> parse_positional(const QuantizeArgs& a) {
  const auto& p = a.positional;
  if (p.size() < 2 || p.size() > 4)
    return make_error(ErrorCode::kInvalidArgument,
                      "expected INPUT.gguf [OUTPUT.gguf] TYPE [nthreads] (got {} arguments)",
                      p.size());
  Invocation inv;
  inv.input = p[0];
  size_t type_at = 2;
  if (find_preset(p[1]).ok() && (p.size() == 2 || p.size() == 3)) type_at = 1;
  if (type_at >= p.size())
    return make_error(ErrorCode::kInvalidArgument, "missing the quantization type (valid: {})",
                      preset_names());
  QMIX_TRY_ASSIGN(inv.preset, find_preset(p[type_at]));
  if (type_at == 2) {
    inv.output = p[1];
  } else if (!a.dry_run) {
    const auto dir = std::filesystem::path(inv.input).parent_path();
    inv.output = (dir / fmt::format("ggml-model-{}.gguf", inv.preset->name)).string();
  }
  inv.threads = a.threads;
  if (type_at + 1 < p.size()) {
    char* end = nullptr;
    const long n = std::strtol(p[type_at + 1].c_str(), &end, 10);
    if (end == p[type_at + 1].c_str() || *end != '\0' || n < 0 || n > 4096)
      return make_error(ErrorCode::kInvalidArgument, "nthreads '{}' is not a thread count",
                        p[type_at + 1]);
    inv.threads = static_cast<int>(n);
  }
  return inv;
}

Expected<std::optional<GgmlType>> optional_type(const std::string& name, std::string_view flag) {
  if (name.empty()) return std::optional<GgmlType>{};
  auto t = quant_type_by_name(name);
  if (!t.ok()) return std::move(t).error().with_context(flag);
  return std::optional<GgmlType>{(*t)->id};
}

// llama-quantize lowercases --tensor-type patterns (tensor names are lowercase); we do too, but
// leave the character after a backslash alone so that \D, \S, \W keep their meaning.
std::string lowercase_pattern(std::string_view pattern) {
  std::string out(pattern);
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\\') {
      ++i;
      continue;
    }
    out[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[i])));
  }
  return out;
}

Expected<TensorRule> parse_tensor_type(std::string_view spec) {
  const size_t eq = spec.rfind('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == spec.size())
    return make_error(ErrorCode::kInvalidArgument,
                      "--tensor-type '{}': expected PATTERN=TYPE (e.g. attn_v=q8_0)", spec);
  auto type = quant_type_by_name(spec.substr(eq + 1));
  if (!type.ok())
    return std::move(type).error().with_context(fmt::format("--tensor-type '{}'", spec));
  return TensorRule{lowercase_pattern(spec.substr(0, eq)), (*type)->id, "manual",
                    fmt::format("--tensor-type {}", spec)};
}

Expected<std::vector<TensorRule>> collect_rules(const QuantizeArgs& a) {
  std::vector<std::string> specs = a.tensor_types;
  if (!a.tensor_type_file.empty()) {
    std::ifstream in(a.tensor_type_file);
    if (!in)
      return make_error(ErrorCode::kNotFound, "--tensor-type-file {}: cannot open",
                        a.tensor_type_file);
    // Whitespace-separated PATTERN=TYPE items, as llama-quantize reads it.
    for (std::string item; in >> item;) specs.push_back(item);
  }
  std::vector<TensorRule> rules;
  for (const auto& s : specs) {
    QMIX_TRY_ASSIGN(auto rule, parse_tensor_type(s));
    rules.push_back(std::move(rule));
  }
  return rules;
}

// --override-kv KEY=TYPE:VALUE with TYPE int, float, bool or str, written as llama-quantize
// writes them (int as u32 of the absolute value, float as f32).
Expected<GgufKv> parse_override(std::string_view spec) {
  const size_t eq = spec.find('=');
  const size_t colon = eq == std::string_view::npos ? eq : spec.find(':', eq);
  auto fail = [&] {
    return make_error(ErrorCode::kInvalidArgument,
                      "--override-kv '{}': expected KEY=TYPE:VALUE with TYPE int, float, bool or "
                      "str",
                      spec);
  };
  if (eq == std::string_view::npos || eq == 0 || colon == std::string_view::npos) return fail();
  const std::string key(spec.substr(0, eq));
  const std::string_view kind = spec.substr(eq + 1, colon - eq - 1);
  const std::string value(spec.substr(colon + 1));
  char* end = nullptr;
  if (kind == "str") return GgufKv{key, GgufValue::string(value)};
  if (kind == "bool" && (value == "true" || value == "false"))
    return GgufKv{key, GgufValue::boolean(value == "true")};
  if (kind == "int") {
    const long long v = std::strtoll(value.c_str(), &end, 10);
    if (end != value.c_str() && *end == '\0')
      return GgufKv{key, GgufValue::u32(static_cast<uint32_t>(std::llabs(v)))};
  }
  if (kind == "float") {
    const double v = std::strtod(value.c_str(), &end);
    if (end != value.c_str() && *end == '\0')
      return GgufKv{key, GgufValue::f32(static_cast<float>(v))};
  }
  return fail();
}

Expected<PlanOptions> plan_options(const QuantizeArgs& a, const Preset* preset, bool have_imatrix) {
  PlanOptions o;
  o.preset = preset;
  QMIX_TRY_ASSIGN(o.rules, collect_rules(a));
  QMIX_TRY_ASSIGN(o.output_type, optional_type(a.output_tensor_type, "--output-tensor-type"));
  QMIX_TRY_ASSIGN(o.token_embd_type,
                  optional_type(a.token_embedding_type, "--token-embedding-type"));
  o.mix = a.pure ? MixMode::kPure : MixMode::kPreset;
  o.output_tensor =
      a.leave_output_tensor ? OutputTensorMode::kLeaveAsIs : OutputTensorMode::kQuantize;
  o.has_imatrix = have_imatrix;
  o.order = a.keep_split ? PlanOrder::kByShard : PlanOrder::kByName;
  return o;
}

Expected<std::optional<ImportanceData>> load_importance(const QuantizeArgs& a) {
  if (!a.include_weights.empty() && !a.exclude_weights.empty())
    return make_error(ErrorCode::kInvalidArgument,
                      "--include-weights and --exclude-weights cannot be used together");
  if (a.imatrix.empty()) {
    if (!a.include_weights.empty() || !a.exclude_weights.empty())
      return make_error(ErrorCode::kInvalidArgument,
                        "--include-weights/--exclude-weights need --imatrix");
    return std::optional<ImportanceData>{};
  }
  ImportanceFilter filter;
  filter.include = a.include_weights;
  filter.exclude = a.exclude_weights;
  QMIX_TRY_ASSIGN(auto data, read_importance(a.imatrix, filter));
  // llama.cpp proceeds as without an imatrix when the filters leave nothing.
  if (data.values.empty()) return std::optional<ImportanceData>{};
  return std::optional<ImportanceData>{std::move(data)};
}

void warn_about_plan(const QuantPlan& plan, WarningSink& warnings) {
  for (const auto& rule : plan.unused_rules)
    warnings.warn(fmt::format("{} matches no tensor", rule));
}

int print_dry_run(const QuantizeArgs& a, const QuantPlan& plan, bool have_imatrix,
                  WarningSink& warnings) {
  warn_about_plan(plan, warnings);
  if (plan.needs_imatrix() && !have_imatrix)
    warnings.warn("this plan needs an importance matrix (--imatrix) to be carried out");
  if (a.json) {
    std::printf("%s\n", plan_to_json(plan).dump(2).c_str());
  } else {
    print_plan_table(stdout, plan);
  }
  return 0;
}

Status run_quantize(const QuantizeArgs& args) {
  QMIX_TRY_ASSIGN(const auto recipe, load_quantize_recipe(args.recipe));
  QuantizeArgs a = args;
  a.positional = with_recipe_base(a.positional, recipe);
  QMIX_TRY_ASSIGN(const Invocation inv, parse_positional(a));
  StderrWarnings warnings;
  QMIX_TRY_ASSIGN(const auto importance, load_importance(a));
  QMIX_TRY_ASSIGN(PlanOptions options, plan_options(a, inv.preset, importance.has_value()));
  QMIX_TRY_ASSIGN(const GgufModel model, GgufModel::open(inv.input));
  QMIX_TRY_ASSIGN(const PlanModel plan_model, plan_model_from_gguf(model));
  std::optional<GgufKv> recipe_kv;
  if (recipe) {
    const LayerMapping mapping = a.scale_layers ? LayerMapping::kScale : LayerMapping::kExact;
    QMIX_TRY_ASSIGN(recipe_kv, add_recipe_rules(*recipe, plan_model, mapping, options, warnings));
  }
  QMIX_TRY_ASSIGN(const QuantPlan plan, compute_plan(plan_model, options));
  if (a.dry_run) {
    print_dry_run(a, plan, importance.has_value(), warnings);
    return ok_status();
  }
  warn_about_plan(plan, warnings);
  QuantizeJob job;
  job.plan = &plan;
  job.imatrix = importance ? &*importance : nullptr;
  for (const auto& spec : a.override_kv) {
    QMIX_TRY_ASSIGN(auto kv, parse_override(spec));
    job.metadata_overrides.push_back(std::move(kv));
  }
  if (recipe_kv) job.metadata_overrides.push_back(std::move(*recipe_kv));
  job.algorithm = a.ggml_reference ? QuantAlgorithm::kReference : QuantAlgorithm::kBest;
  job.requantize = a.allow_requantize ? RequantizeMode::kAllow : RequantizeMode::kRefuse;
  job.split = a.keep_split ? OutputSplit::kKeepShards : OutputSplit::kOneFile;
  job.threads = inv.threads;
  job.warnings = &warnings;
  if (a.allow_requantize)
    warnings.warn(
        "--allow-requantize: quantizing already-quantized tensors again loses quality; "
        "start from an F32/F16/BF16 model when you can");
  InterruptGuard interrupt;
  ProgressBar bar("quantize", ProgressUnit::kBytes);
  job.progress = &bar;
  job.cancel = &interrupt.token();
  const Status s = quantize_model(model, inv.output, job);
  bar.finish();
  if (!s.ok()) return s;
  std::printf("%s\n", plan_summary(plan).c_str());
  for (const auto& path : output_paths(model, inv.output, job.split))
    std::printf("wrote %s\n", path.c_str());
  return ok_status();
}

void add_options(CLI::App* sub, QuantizeArgs& a) {
  sub->add_option("args", a.positional, "INPUT.gguf [OUTPUT.gguf] TYPE [nthreads]");
  sub->add_option("--imatrix", a.imatrix, "importance matrix (GGUF or legacy .dat imatrix file)");
  // Repeatable options take one value per occurrence (never the positional arguments after).
  sub->add_option("--include-weights", a.include_weights,
                  "use the imatrix only for tensors whose name contains this (repeatable)")
      ->allow_extra_args(false);
  sub->add_option("--exclude-weights", a.exclude_weights,
                  "do not use the imatrix for tensors whose name contains this (repeatable)")
      ->allow_extra_args(false);
  sub->add_option("--output-tensor-type", a.output_tensor_type, "type of output.weight");
  sub->add_option("--token-embedding-type", a.token_embedding_type, "type of token_embd.weight");
  sub->add_option("--tensor-type", a.tensor_types,
                  "PATTERN=TYPE: tensors whose name matches the regex get TYPE (repeatable, "
                  "first match wins)")
      ->allow_extra_args(false);
  sub->add_option("--tensor-type-file", a.tensor_type_file,
                  "file of PATTERN=TYPE items separated by spaces or newlines");
  sub->add_option("--override-kv", a.override_kv,
                  "KEY=TYPE:VALUE metadata in the output (TYPE int, float, bool, str)")
      ->allow_extra_args(false);
  sub->add_flag("--pure", a.pure, "the preset's type for every tensor (no mix)");
  sub->add_flag("--leave-output-tensor", a.leave_output_tensor, "keep output.weight as it is");
  sub->add_flag("--keep-split", a.keep_split,
                "split input: write one output shard per input shard (OUT-0000i-of-0000n.gguf)");
  sub->add_flag("--allow-requantize", a.allow_requantize,
                "allow quantizing already-quantized tensors (loses quality)");
  sub->add_flag("--dry-run", a.dry_run, "print the plan (types, sizes, bpw) and write nothing");
  sub->add_flag("--json", a.json, "with --dry-run or --list-presets: JSON on stdout");
  sub->add_flag("--list-presets", a.list_presets, "list the quantization types and exit");
  sub->add_flag("--ggml-reference", a.ggml_reference,
                "use ggml's reference quantizers: output byte-identical to llama-quantize");
  sub->add_option("-t,--threads", a.threads, "threads (default: all cores)");
  sub->add_option("--recipe", a.recipe,
                  "recipe file (docs/recipe.md) refining the preset; TYPE defaults to its base");
  sub->add_flag("--scale-layers", a.scale_layers,
                "with --recipe: map its layer ranges onto a model of another block count");
}

}  // namespace

void register_quantize(CLI::App& app, CommandTable& table) {
  auto args = std::make_shared<QuantizeArgs>();
  auto* sub = app.add_subcommand(
      "quantize", "quantize a GGUF model with a preset, rules and an imatrix (llama-quantize)");
  add_options(sub, *args);
  table.add(sub, [args] {
    if (args->list_presets) {
      if (args->json) {
        std::printf("%s\n", presets_to_json().dump(2).c_str());
      } else {
        print_preset_table(stdout);
      }
      return 0;
    }
    const Status s = run_quantize(*args);
    return s.ok() ? 0 : report_error(s.error());
  });
}

}  // namespace qmix::cli
