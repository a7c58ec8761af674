// `qmix recipe diff|export|import`: comparing type tables and moving recipes to and from
// llama-quantize / ik_llama.cpp options. Shared helpers are in cmd_recipe.h.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "cli/cmd_recipe.h"
#include "recipe/diff.h"
#include "recipe/extract.h"
#include "recipe/interop.h"
#include "recipe/recipe_toml.h"
#include "recipe/transfer.h"

namespace qmix::cli::recipe_cmd {
namespace {

// ---- diff ----------------------------------------------------------------------------------

struct DiffArgs {
  std::string a, b, model;
  bool json = false;
};

// One side of a diff: a GGUF's own types, or a recipe resolved on the model's tensor list.
struct Side {
  std::string name;
  std::vector<TensorDesc> tensors;
  std::unordered_set<std::string> undecided;  // tensors the recipe gives no type
};

Expected<Side> recipe_side(const std::string& path, const ModelTensors& model) {
  QMIX_TRY_ASSIGN(const Recipe recipe, load_recipe(path));
  QMIX_TRY_ASSIGN(const PresetChoices base, base_choices(recipe, model));
  QMIX_TRY_ASSIGN(const TransferReport report,
                  transfer_recipe(recipe, model, LayerMapping::kExact, base.types));
  Side side{std::filesystem::path(path).filename().string(), model.tensors, {}};
  for (size_t i = 0; i < side.tensors.size(); ++i) {
    const auto& type = report.resolution.picks[i].type;
    if (type) {
      side.tensors[i].type = *type;
    } else {
      side.undecided.insert(side.tensors[i].name);
    }
  }
  return side;
}

Expected<ModelTensors> model_for_recipes(const DiffArgs& a) {
  if (!a.model.empty()) return read_model_tensors(a.model);
  for (const std::string* p : {&a.a, &a.b})
    if (is_gguf(*p)) return read_model_tensors(*p);
  return make_error(
      ErrorCode::kInvalidArgument,
      "diffing two recipes needs --model MODEL.gguf (the tensors to resolve them on)");
}

Expected<Side> load_side(const std::string& path, const DiffArgs& a,
                         std::optional<ModelTensors>& model) {
  if (is_gguf(path)) {
    QMIX_TRY_ASSIGN(const ModelTensors m, read_model_tensors(path));
    return Side{m.source, m.tensors, {}};
  }
  if (!model) {
    QMIX_TRY_ASSIGN(model, model_for_recipes(a));
  }
  return recipe_side(path, *model);
}

nlohmann::json diff_json(const TypeDiff& d, const Side& a, const Side& b, size_t skipped) {
  nlohmann::json j = {{"a", a.name},
                      {"b", b.name},
                      {"compared", d.compared},
                      {"changed", d.changed},
                      {"undecided_skipped", skipped}};
  j["zones"] = nlohmann::json::array();
  for (const DiffZone& z : d.zones)
    j["zones"].push_back(
        {{"what", z.what},
         {"layers", z.layers.to_string()},
         {"from", type_name(z.from)},
         {"to", type_name(z.to)},
         {"tensors", z.tensors},
         {"bytes_delta", z.bytes_delta ? nlohmann::json(*z.bytes_delta) : nullptr}});
  const auto size = [](const TableSize& s) {
    return nlohmann::json{{"bytes", s.bytes ? nlohmann::json(*s.bytes) : nullptr},
                          {"bpw", s.bpw() ? nlohmann::json(*s.bpw()) : nullptr}};
  };
  j["size_a"] = size(d.size_a);
  j["size_b"] = size(d.size_b);
  j["only_in_a"] = d.only_in_a;
  j["only_in_b"] = d.only_in_b;
  return j;
}

// Tensors a recipe leaves undecided (the base preset would choose) are compared on neither side.
size_t drop_undecided(Side& a, Side& b) {
  std::unordered_set<std::string> drop = a.undecided;
  drop.insert(b.undecided.begin(), b.undecided.end());
  for (Side* s : {&a, &b})
    std::erase_if(s->tensors, [&](const TensorDesc& t) { return drop.contains(t.name); });
  return drop.size();
}

Status run_diff(const DiffArgs& a) {
  std::optional<ModelTensors> model;
  QMIX_TRY_ASSIGN(Side side_a, load_side(a.a, a, model));
  QMIX_TRY_ASSIGN(Side side_b, load_side(a.b, a, model));
  const size_t skipped = drop_undecided(side_a, side_b);
  const TypeDiff d = diff_type_tables(side_a.tensors, side_b.tensors);
  if (a.json) return emit(diff_json(d, side_a, side_b, skipped).dump(1) + "\n", "");
  std::string text = format_diff(d, side_a.name, side_b.name);
  if (skipped > 0)
    text +=
        fmt::format("not compared: {} tensors no rule decides (the base preset would)\n", skipped);
  return emit(text, "");
}

// ---- export / import -------------------------------------------------------------------------

struct ExportArgs {
  std::string recipe, format = "llama-quantize", model, out;
};

Status run_export(const ExportArgs& a) {
  QMIX_TRY_ASSIGN(const InteropFormat format, interop_format_by_name(a.format));
  QMIX_TRY_ASSIGN(Recipe recipe, load_recipe(a.recipe));
  if (!a.model.empty()) {
    QMIX_TRY_ASSIGN(const ModelTensors model, read_model_tensors(a.model));
    QMIX_TRY_ASSIGN(const PresetChoices base, base_choices(recipe, model));
    QMIX_TRY_ASSIGN(const TransferReport adapted,
                    transfer_recipe(recipe, model, LayerMapping::kExact, base.types));
    QMIX_TRY_ASSIGN(recipe, bake_recipe(adapted.recipe, model, base.types));
  }
  QMIX_TRY_ASSIGN(const std::string text, export_recipe(recipe, format));
  return emit(text, a.out);
}

struct ImportArgs {
  std::string input, text, format = "llama-quantize", out, name;
};

Expected<std::string> read_input(const std::string& path) {
  std::ostringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
    return text.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "{}: cannot open", path);
  text << in.rdbuf();
  return text.str();
}

Status run_import(const ImportArgs& a) {
  QMIX_TRY_ASSIGN(const InteropFormat format, interop_format_by_name(a.format));
  if (a.input.empty() == a.text.empty())
    return make_error(ErrorCode::kInvalidArgument, "give either an input file (or -) or --string");
  std::string text = a.text;
  if (!a.input.empty()) {
    QMIX_TRY_ASSIGN(text, read_input(a.input));
  }
  const std::string source = a.input.empty() ? "--string" : a.input == "-" ? "stdin" : a.input;
  QMIX_TRY_ASSIGN(Recipe recipe, import_recipe(text, format, source));
  if (!a.name.empty()) recipe.name = a.name;
  return emit(write_recipe(recipe), a.out);
}

template <class Args>
void add_runner(CommandTable& table, CLI::App* sub, std::shared_ptr<Args> a,
                Status (*run)(const Args&)) {
  table.add(sub, [a, run] {
    const Status s = run(*a);
    return s.ok() ? 0 : report_error(s.error());
  });
}

}  // namespace

void add_diff(CLI::App& recipe, CommandTable& table) {
  auto a = std::make_shared<DiffArgs>();
  auto* sub =
      recipe.add_subcommand("diff", "per-tensor type changes between recipes or GGUFs, by zone");
  sub->add_option("a", a->a, "recipe (TOML) or GGUF")->required();
  sub->add_option("b", a->b, "recipe (TOML) or GGUF")->required();
  sub->add_option("--model", a->model, "GGUF whose tensors recipes are resolved on");
  sub->add_flag("--json", a->json, "machine-readable zones and sizes");
  add_runner(table, sub, a, run_diff);
}

void add_export(CLI::App& recipe, CommandTable& table) {
  auto a = std::make_shared<ExportArgs>();
  auto* sub =
      recipe.add_subcommand("export", "write a recipe as llama-quantize or ik_llama.cpp options");
  sub->add_option("recipe", a->recipe, "recipe (TOML)")->required();
  sub->add_option("--format", a->format, interop_format_names());
  sub->add_option("--model", a->model,
                  "resolve on this GGUF first (needed for floors/ceilings: exports the result)");
  sub->add_option("-o,--output", a->out, "write here (default: stdout)");
  add_runner(table, sub, a, run_export);
}

void add_import(CLI::App& recipe, CommandTable& table) {
  auto a = std::make_shared<ImportArgs>();
  auto* sub = recipe.add_subcommand("import",
                                    "read --tensor-type options or a --custom-q list as a recipe");
  sub->add_option("input", a->input, "file with the options, or - for stdin");
  sub->add_option("--string", a->text, "the options themselves");
  sub->add_option("--format", a->format, interop_format_names());
  sub->add_option("--name", a->name, "recipe name");
  sub->add_option("-o,--output", a->out, "write the recipe here (default: stdout)");
  add_runner(table, sub, a, run_import);
}

}  // namespace qmix::cli::recipe_cmd
