// `qmix recipe derive`: a base recipe refined from a domain vs generic imatrix comparison
// (issue #12; recipe/derive.h, docs/recipe.md "derive"). The recipe goes to stdout or -o; the
// summary and, with --model, the size and bits per weight of each level go to stderr.
#include <cstdio>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "cli/cmd_recipe.h"
#include "core/byte_size.h"
#include "imatrix/imatrix_file.h"
#include "recipe/derive.h"
#include "recipe/recipe_toml.h"

namespace qmix::cli::recipe_cmd {
namespace {

namespace fs = std::filesystem;

struct DeriveArgs {
  std::string base, domain, generic, out, model;
  DeriveOptions derive;
  CompareOptions compare;
  bool unbalanced = false;
};

Status check_output(const DeriveArgs& a) {
  if (a.out.empty()) return ok_status();
  for (const std::string& in : {a.base, a.domain, a.generic, a.model}) {
    std::error_code ec;
    if (!in.empty() && fs::equivalent(a.out, in, ec))
      return make_error(ErrorCode::kInvalidArgument, "output {} is also an input", a.out);
  }
  return ok_status();
}

// One row per level: size and bpw of the recipe resolved on the model, and the change from
// the base.
Expected<std::string> size_table(const DeriveArgs& a, const ModelTensors& model, const Recipe& base,
                                 const ImatrixComparison& c) {
  QMIX_TRY_ASSIGN(const auto base_table, resolved_table(base, model));
  const TableSize base_size = table_size(base_table);
  if (!base_size.bpw()) return std::string("sizes: some tensor shape is unknown\n");
  std::string out = fmt::format("sizes on {}:\n  {:<8} {:>6} {:>12} {:>7} {:>12}\n", model.source,
                                "recipe", "rules", "size", "bpw", "vs base");
  out += fmt::format("  {:<8} {:>6} {:>12} {:>7.3f} {:>12}\n", "base", base.rules.size(),
                     format_bytes(*base_size.bytes), *base_size.bpw(), "-");
  for (int level = 1; level <= a.derive.level; ++level) {
    DeriveOptions o = a.derive;
    o.level = level;
    QMIX_TRY_ASSIGN(const DeriveResult d, derive_recipe(base, c, o));
    QMIX_TRY_ASSIGN(const auto table, resolved_table(d.recipe, model));
    const TableSize s = table_size(table);
    const double delta = *s.bpw() - *base_size.bpw();
    out += fmt::format("  {:<8} {:>+6} {:>12} {:>7.3f} {:>+8.3f} bpw ({:+.1f}%)\n",
                       fmt::format("level {}", level), static_cast<int>(d.changes.size()),
                       format_bytes(*s.bytes), *s.bpw(), delta, 100.0 * delta / *base_size.bpw());
  }
  return out;
}

Status run_derive(DeriveArgs a) {
  QMIX_TRY(check_output(a));
  QMIX_TRY_ASSIGN(const Recipe base, load_recipe(a.base));
  QMIX_TRY_ASSIGN(const Imatrix domain, read_imatrix(a.domain));
  QMIX_TRY_ASSIGN(const Imatrix generic, read_imatrix(a.generic));
  QMIX_TRY_ASSIGN(const ImatrixComparison c, compare_imatrices(domain, generic, a.compare));
  a.derive.domain_name = fs::path(a.domain).filename().string();
  a.derive.generic_name = fs::path(a.generic).filename().string();
  // With the model's sizes, level 1 is balanced (budget-neutral) unless --unbalanced.
  ModelTensors model;
  if (!a.model.empty()) {
    QMIX_TRY_ASSIGN(model, read_model_tensors(a.model));
    a.derive.sizes = &model;
  }
  a.derive.balance = a.unbalanced ? DeriveBalance::kFree : DeriveBalance::kNeutral;
  QMIX_TRY_ASSIGN(const DeriveResult d, derive_recipe(base, c, a.derive));
  std::string report;
  if (!a.model.empty()) {
    QMIX_TRY_ASSIGN(report, size_table(a, model, base, c));
  }
  QMIX_TRY(emit(write_recipe(d.recipe), a.out));
  size_t by_level[4] = {}, balancing = 0;
  for (const DerivedChange& ch : d.changes) {
    ++by_level[ch.level];
    balancing += ch.balancing;
  }
  std::fprintf(stderr,
               "qmix: level %d: %zu data rules (level 1: %zu, %zu of them balancing, level 2: %zu, "
               "level 3: %zu); %zu held by architecture rules, %zu tensors the base leaves "
               "undecided\n%s",
               a.derive.level, d.changes.size(), by_level[1], balancing, by_level[2], by_level[3],
               d.held_by_architecture.size(), d.uncovered.size(), report.c_str());
  return ok_status();
}

}  // namespace

void add_derive(CLI::App& recipe, CommandTable& table) {
  auto a = std::make_shared<DeriveArgs>();
  auto* sub = recipe.add_subcommand(
      "derive", "refine a recipe from a domain vs generic imatrix comparison (levels 1-3)");
  sub->add_option("--base", a->base, "base recipe (TOML)")->required();
  sub->add_option("--domain", a->domain, "imatrix of the domain corpus")->required();
  sub->add_option("--generic", a->generic, "imatrix of the generic corpus")->required();
  sub->add_option("--level", a->derive.level,
                  "1: ratio swaps; 2: + top-N at Q8_0; 3: + top-M at F16")
      ->required();
  sub->add_option("-o,--output", a->out, "write the recipe here (default: stdout)");
  sub->add_option("--model", a->model,
                  "GGUF: balance level 1 on its sizes; report size and bpw of each level");
  sub->add_flag("--unbalanced", a->unbalanced,
                "level 1 as the thresholds say, without budget-neutral pairing");
  sub->add_option("--top-n", a->derive.top_n, "level 2: tensors raised to Q8_0 (default 8)");
  sub->add_option("--top-m", a->derive.top_m, "level 3: tensors raised to F16 (default 2)");
  sub->add_option("--demote-below", a->compare.demote_below, "ratio under which to demote (0.80)");
  sub->add_option("--promote-above", a->compare.promote_above,
                  "ratio over which to promote (1.10)");
  table.add(sub, [a] {
    const Status s = run_derive(*a);
    return s.ok() ? 0 : report_error(s.error());
  });
}

}  // namespace qmix::cli::recipe_cmd
