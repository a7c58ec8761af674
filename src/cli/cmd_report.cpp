// `qmix report`: one self-contained HTML file (inline SVG, no scripts, no network) from the JSON
// the other commands write (report/report_document.h lists the sections): inspect --json,
// imatrix compare --json, compare --json, fit --json, and a recipe file.
#include <cstdio>

#include "cli/commands.h"
#include "report/report_document.h"

namespace qmix::cli {
namespace {

struct ReportArgs {
  std::string inspect, imatrix_compare, compare, fit, recipe, output, title = "qmix report";
  int top = 12;
};

Status read_json_into(const std::string& path, std::optional<nlohmann::json>& into) {
  if (path.empty()) return ok_status();
  QMIX_TRY_ASSIGN(into, report::read_json_file(path));
  return ok_status();
}

Status build(const ReportArgs& a) {
  report::ReportSources s;
  s.title = a.title;
  s.top_tensors = a.top;
  QMIX_TRY(read_json_into(a.inspect, s.inspect));
  QMIX_TRY(read_json_into(a.imatrix_compare, s.imatrix_compare));
  QMIX_TRY(read_json_into(a.compare, s.compare));
  QMIX_TRY(read_json_into(a.fit, s.fit));
  if (!a.recipe.empty()) {
    QMIX_TRY_ASSIGN(s.recipe_toml, report::read_text_file(a.recipe));
    s.recipe_name = std::filesystem::path(a.recipe).filename().string();
  }
  return report::write_report(s, a.output);
}

int run_report(const ReportArgs& a) {
  const Status s = build(a);
  if (!s.ok()) return report_error(s.error());
  std::printf("report written to %s\n", a.output.c_str());
  return 0;
}

}  // namespace

void register_report(CLI::App& app, CommandTable& table) {
  auto a = std::make_shared<ReportArgs>();
  CLI::App* sub = app.add_subcommand("report", "Self-contained HTML report from qmix JSON outputs");
  sub->add_option("--inspect", a->inspect, "qmix inspect --json output");
  sub->add_option("--imatrix-compare", a->imatrix_compare, "qmix imatrix compare --json output");
  sub->add_option("--compare", a->compare, "qmix compare --json output");
  sub->add_option("--fit", a->fit, "qmix fit --json output");
  sub->add_option("--recipe", a->recipe, "recipe file (rules with their provenance)");
  sub->add_option("--title", a->title, "report title");
  sub->add_option("--top", a->top, "rows of the top tensors table")->capture_default_str();
  sub->add_option("-o,--output", a->output, "output HTML file")->required();
  table.add(sub, [a] { return run_report(*a); });
}

}  // namespace qmix::cli
