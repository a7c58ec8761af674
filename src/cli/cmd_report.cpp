// `qmix report`: one self-contained HTML file (inline SVG, no scripts, no network) from the JSON
// the other commands write: inspect --json (type histogram, bits per layer), imatrix compare
// --json (ratio heat map layer × tensor kind, top tensors), compare --json (variants tables,
// Pareto plots, paired tests), fit --json, and a recipe file shown as it is.
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/commands.h"
#include "core/atomic_file.h"
#include "core/mapped_file.h"
#include "report/html.h"
#include "report/svg.h"

namespace qmix::cli {
namespace {

using nlohmann::json;

struct ReportArgs {
  std::string inspect, imatrix_compare, compare, fit, recipe, output, title = "qmix report";
};

Expected<std::string> read_file(const std::string& path) {
  QMIX_TRY_ASSIGN(MappedFile f, MappedFile::open(path));
  return std::string(reinterpret_cast<const char*>(f.bytes().data()), f.size());
}

Expected<json> read_json(const std::string& path) {
  QMIX_TRY_ASSIGN(const std::string text, read_file(path));
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error(ErrorCode::kCorrupt, "{}: not valid JSON", path);
  return j;
}

std::string fmt_num(const json& v, const char* f = "{:.4f}") {
  return v.is_number() ? fmt::format(fmt::runtime(f), v.get<double>()) : "–";
}

void model_section(report::HtmlReport& r, const json& j) {
  r.heading("Model");
  r.paragraph(fmt::format("{} ({}), {} weights, {} bits per weight over all tensors",
                          j["model"].value("name", ""), j["model"].value("architecture", ""),
                          j["model"].value("params", 0), fmt_num(j["bpw"]["tensors"], "{:.3f}")));
  std::vector<report::Bar> types;
  for (const json& t : j["types"])
    types.push_back({t.value("type", "?"), t.value("bytes", 0.0) / (1 << 20)});
  r.raw(report::bar_chart("Bytes per type", types, "MiB"));
  std::vector<report::Bar> layers;
  for (const json& b : j["layers"]["blocks"])
    layers.push_back({fmt::format("blk.{}", b.value("block", 0)), b.value("bpw", 0.0), "#6a9f58"});
  if (!layers.empty()) r.raw(report::bar_chart("Bits per weight by block", layers, "bpw"));
}

void imatrix_section(report::HtmlReport& r, const json& j) {
  r.heading("Importance: domain / generic");
  std::set<int> blocks;
  std::vector<std::string> kinds;
  std::map<std::pair<int, std::string>, double> ratio;
  for (const json& t : j["tensors"]) {
    const std::string kind = t.value("kind", "");
    if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) kinds.push_back(kind);
    const int block = t["block"].is_number() ? t["block"].get<int>() : -1;
    blocks.insert(block);
    if (t["ratio"].is_number()) ratio[{block, kind}] = t["ratio"].get<double>();
  }
  std::vector<std::string> rows;
  std::vector<std::vector<std::optional<double>>> cells;
  for (int b : blocks) {
    rows.push_back(b < 0 ? "outside blocks" : fmt::format("blk.{}", b));
    cells.emplace_back();
    for (const std::string& k : kinds) {
      const auto it = ratio.find({b, k});
      cells.back().push_back(it == ratio.end() ? std::nullopt : std::optional<double>(it->second));
    }
  }
  r.raw(report::heat_map("Ratio of mean importance (red: domain needs more)", rows, kinds, cells,
                         1.0));
  std::vector<json> sorted(j["tensors"].begin(), j["tensors"].end());
  std::sort(sorted.begin(), sorted.end(), [](const json& a, const json& b) {
    return a.value("ratio", 0.0) > b.value("ratio", 0.0);
  });
  std::vector<std::vector<std::string>> table;
  for (size_t i = 0; i < sorted.size() && i < 12; ++i)
    table.push_back({sorted[i].value("name", ""), fmt_num(sorted[i]["ratio"], "{:.3f}"),
                     sorted[i].value("verdict", "")});
  r.table({"tensor (highest ratio first)", "ratio", "verdict"}, table);
}

void variants_section(report::HtmlReport& r, const json& j) {
  for (const json& text : j["texts"]) {
    r.heading("Variants on " + text.value("text", ""));
    std::vector<std::vector<std::string>> rows;
    std::vector<report::Point> kld, ppl;
    for (const json& v : text["variants"]) {
      const bool has_kld = v.contains("kld");
      rows.push_back({v.value("model", ""),
                      fmt::format("{:.2f}", v.value("bytes", 0.0) / (1 << 20)),
                      fmt_num(v["bpw"], "{:.3f}"), fmt_num(v["ppl"]), fmt_num(v["ppl_err"]),
                      has_kld ? fmt_num(v["kld"]["kld"]["mean"], "{:.5f}") : "–",
                      has_kld ? fmt_num(v["kld"]["kld_quantiles"]["p99"], "{:.5f}") : "–",
                      has_kld ? fmt_num(v["kld"]["same_top_pct"], "{:.2f}") : "–"});
      ppl.push_back({v.value("bpw", 0.0), v.value("ppl", 0.0), v.value("model", "")});
      if (has_kld)
        kld.push_back(
            {v.value("bpw", 0.0), v["kld"]["kld"].value("mean", 0.0), v.value("model", "")});
    }
    r.table({"model", "MiB", "bpw", "PPL", "±", "KLD mean", "KLD p99", "same top %"}, rows);
    r.raw(report::scatter_plot("bpw vs KLD (dashed: Pareto front)", "bits per weight", "KLD", kld));
    r.raw(report::scatter_plot("bpw vs PPL", "bits per weight", "PPL", ppl));
    std::vector<std::vector<std::string>> pairs;
    for (const json& p : text["paired"])
      pairs.push_back({p.value("a", ""), p.value("b", ""), fmt_num(p["mean_delta_nll"], "{:+.5f}"),
                       fmt_num(p["std_error"], "{:.5f}"),
                       fmt::format("[{}, {}]", fmt_num(p["ci_low"], "{:+.5f}"),
                                   fmt_num(p["ci_high"], "{:+.5f}")),
                       p.value("distinguishable", false) ? "yes" : "no"});
    r.paragraph(
        "Paired ΔNLL = NLL(B) − NLL(A) on identical tokens (> 0: A is better), 95 % bootstrap "
        "interval over chunks.");
    r.table({"A", "B", "mean ΔNLL", "SE", "95 % CI", "distinguishable"}, pairs);
  }
}

void fit_section(report::HtmlReport& r, const json& j) {
  r.heading("Fit: " + j.value("model", ""));
  std::vector<std::vector<std::string>> rows;
  for (const json& row : j["rows"])
    rows.push_back({row.value("kv_type", ""), std::to_string(row.value("max_ctx", int64_t{0})),
                    fmt::format("{:.2f}", row.value("total", 0.0) / (1 << 30))});
  r.table({"KV type", "max context", "total GiB"}, rows);
}

Status build(const ReportArgs& a) {
  report::HtmlReport r(a.title);
  if (!a.inspect.empty()) {
    QMIX_TRY_ASSIGN(const json j, read_json(a.inspect));
    model_section(r, j);
  }
  if (!a.imatrix_compare.empty()) {
    QMIX_TRY_ASSIGN(const json j, read_json(a.imatrix_compare));
    imatrix_section(r, j);
  }
  if (!a.compare.empty()) {
    QMIX_TRY_ASSIGN(const json j, read_json(a.compare));
    variants_section(r, j);
  }
  if (!a.recipe.empty()) {
    QMIX_TRY_ASSIGN(const std::string text, read_file(a.recipe));
    r.heading("Recipe");
    r.preformatted(text);
  }
  if (!a.fit.empty()) {
    QMIX_TRY_ASSIGN(const json j, read_json(a.fit));
    fit_section(r, j);
  }
  const std::string html = r.render();
  QMIX_TRY_ASSIGN(AtomicFile out, AtomicFile::create(a.output));
  QMIX_TRY(out.write(std::as_bytes(std::span(html.data(), html.size()))));
  return out.commit();
}

int run_report(const ReportArgs& a) {
  try {
    const Status s = build(a);
    if (!s.ok()) return report_error(s.error());
  } catch (const json::exception& e) {  // a JSON file of the wrong shape
    return report_error(make_error(ErrorCode::kCorrupt, "unexpected JSON content: {}", e.what()));
  }
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
  sub->add_option("--recipe", a->recipe, "recipe file to show");
  sub->add_option("--title", a->title, "report title");
  sub->add_option("-o,--output", a->output, "output HTML file")->required();
  table.add(sub, [a] { return run_report(*a); });
}

}  // namespace qmix::cli
