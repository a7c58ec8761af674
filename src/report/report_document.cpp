#include "report/report_document.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "core/atomic_file.h"
#include "core/mapped_file.h"
#include "recipe/recipe_toml.h"
#include "report/html.h"
#include "report/svg.h"

namespace qmix::report {

using nlohmann::json;

namespace {

std::string fmt_num(const json& v, const char* f = "{:.4f}") {
  return v.is_number() ? fmt::format(fmt::runtime(f), v.get<double>()) : "–";
}

double mib(const json& bytes) { return bytes.is_number() ? bytes.get<double>() / (1 << 20) : 0.0; }

void model_section(HtmlReport& r, const json& j) {
  r.heading("Model", "model");
  r.paragraph(fmt::format("{} ({}), {} weights, {} bits per weight over all tensors",
                          j["model"].value("name", ""), j["model"].value("architecture", ""),
                          j["model"].value("params", 0), fmt_num(j["bpw"]["tensors"], "{:.3f}")));
  std::vector<Bar> types;
  std::vector<std::vector<std::string>> rows;
  for (const json& t : j["types"]) {
    types.push_back({t.value("type", "?"), mib(t["bytes"])});
    rows.push_back({t.value("type", "?"), std::to_string(t.value("tensors", 0)),
                    std::to_string(t.value("params", 0)), fmt::format("{:.3f}", mib(t["bytes"])),
                    fmt::format("{:.1f} %", 100 * t.value("share", 0.0)),
                    fmt_num(t["bpw"], "{:.2f}")});
  }
  r.raw(bar_chart("Type histogram: bytes per type", types, "MiB"));
  r.table({"type", "tensors", "parameters", "MiB", "share of file", "bpw"}, rows);
  std::vector<Bar> layers;
  if (j.contains("layers"))
    for (const json& b : j["layers"]["blocks"])
      layers.push_back(
          {fmt::format("blk.{}", b.value("block", 0)), b.value("bpw", 0.0), "#6a9f58"});
  if (!layers.empty()) r.raw(bar_chart("Bits per weight by block", layers, "bpw"));
}

std::optional<double> number_or_none(const json& v) {
  return v.is_number() ? std::optional<double>(v.get<double>()) : std::nullopt;
}

// "ffn_down.weight" → "ffn_down": the column labels stay short (biases keep their suffix).
std::string short_kind(std::string kind) {
  constexpr std::string_view kWeight = ".weight";
  if (kind.size() > kWeight.size() && kind.ends_with(kWeight))
    kind.resize(kind.size() - kWeight.size());
  return kind;
}

std::vector<std::string> short_kinds(const std::vector<std::string>& kinds) {
  std::vector<std::string> out;
  for (const std::string& k : kinds) out.push_back(short_kind(k));
  return out;
}

void ratio_heat_map(HtmlReport& r, const json& j) {
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
  r.raw(heat_map("Ratio heat map, block × tensor kind (red: domain needs more)", rows,
                 short_kinds(kinds), cells, 1.0));
}

// Zones of consecutive blocks (imatrix compare --zones): the geometric-mean ratio per kind.
void zone_chart(HtmlReport& r, const json& j) {
  if (!j.contains("zones") || j["zones"].empty()) return;
  std::vector<std::string> kinds;
  for (const auto& [kind, v] : j["zones"][0]["ratio"].items()) kinds.push_back(kind);
  kinds.push_back("all kinds");
  std::vector<std::string> rows;
  std::vector<std::vector<std::optional<double>>> cells;
  for (const json& z : j["zones"]) {
    rows.push_back(fmt::format("blk.{}-{}", z.value("first_block", 0), z.value("last_block", 0)));
    cells.emplace_back();
    for (size_t k = 0; k + 1 < kinds.size(); ++k)
      cells.back().push_back(number_or_none(z["ratio"].value(kinds[k], json())));
    cells.back().push_back(number_or_none(z["all"]));
  }
  r.raw(heat_map("Zone chart: ratio per zone of blocks (geometric mean)", rows, short_kinds(kinds),
                 cells, 1.0));
}

void imatrix_section(HtmlReport& r, const json& j, int top) {
  r.heading("Importance: domain / generic", "importance");
  r.paragraph(fmt::format(
      "Ratio of each tensor's mean importance on domain text to generic text, each normalised by "
      "its file's geometric mean; below {} suggests demoting, above {} promoting.",
      fmt_num(j["demote_below"], "{:.2f}"), fmt_num(j["promote_above"], "{:.2f}")));
  ratio_heat_map(r, j);
  zone_chart(r, j);
  std::vector<json> sorted(j["tensors"].begin(), j["tensors"].end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const json& a, const json& b) {
    return a.value("ratio", 0.0) > b.value("ratio", 0.0);
  });
  std::vector<std::vector<std::string>> table;
  for (size_t i = 0; i < sorted.size() && i < static_cast<size_t>(top); ++i) {
    const json& t = sorted[i];
    const std::string ci = t["ci_low"].is_number()
                               ? fmt::format("[{}, {}]", fmt_num(t["ci_low"], "{:.3f}"),
                                             fmt_num(t["ci_high"], "{:.3f}"))
                               : "–";
    table.push_back({std::to_string(i + 1), t.value("name", ""), fmt_num(t["ratio"], "{:.3f}"), ci,
                     t.value("verdict", "") + (t.value("uncertain", false) ? " (uncertain)" : "")});
  }
  r.table({"#", fmt::format("top {} tensors (highest ratio first)", table.size()), "ratio",
           "95 % CI", "verdict"},
          table);
}

std::string evidence_text(const RecipeRule& rule) {
  std::string s;
  for (const EvidenceItem& e : rule.evidence) {
    const std::string v = std::visit(
        [](const auto& x) -> std::string {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::string>)
            return x;
          else if constexpr (std::is_same_v<T, double>)
            return fmt::format("{:.4g}", x);
          else
            return fmt::format("{}", x);
        },
        e.value);
    s += fmt::format("{}{}={}", s.empty() ? "" : ", ", e.key, v);
  }
  return s;
}

void recipe_section(HtmlReport& r, const std::string& text, const std::string& name) {
  r.heading(name.empty() ? "Recipe" : "Recipe: " + name, "recipe");
  const auto recipe = parse_recipe(text, name);
  if (!recipe.ok()) {
    r.paragraph("The recipe could not be read (" + recipe.error().message + "); its text:");
    r.preformatted(text);
    return;
  }
  std::map<std::string, int> by_provenance;
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < recipe->rules.size(); ++i) {
    const RecipeRule& rule = recipe->rules[i];
    const std::string provenance(provenance_name(rule.provenance));
    ++by_provenance[provenance];
    rows.push_back(
        {std::to_string(i + 1), rule_summary(rule), provenance, rule.reason, evidence_text(rule)});
  }
  std::string counts;
  for (const auto& [p, n] : by_provenance)
    counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", n, p);
  r.paragraph(fmt::format("{}: base preset {}, {} rules{}{}.",
                          recipe->name.empty() ? name : recipe->name,
                          recipe->base.empty() ? "none" : recipe->base, recipe->rules.size(),
                          counts.empty() ? "" : ": ", counts));
  r.table({"#", "rule", "provenance", "reason", "evidence"}, rows);
  r.collapsed("recipe file (TOML)", text);
}

void variants_section(HtmlReport& r, const json& text, size_t index) {
  const std::string name = std::filesystem::path(text.value("text", "")).filename().string();
  r.heading("Variants on " + name, fmt::format("variants-{}", index + 1));
  std::vector<std::vector<std::string>> rows;
  std::vector<Point> kld, ppl;
  bool base = true;  // the first model is the base: KLD 0 by definition, kept out of the plots
  for (const json& v : text["variants"]) {
    const bool has_kld = v.contains("kld");
    rows.push_back({v.value("model", ""), fmt::format("{:.2f}", mib(v["bytes"])),
                    fmt_num(v["bpw"], "{:.3f}"), fmt_num(v["ppl"]), fmt_num(v["ppl_err"]),
                    has_kld ? fmt_num(v["kld"]["kld"]["mean"], "{:.5f}") : "–",
                    has_kld ? fmt_num(v["kld"]["kld_quantiles"]["p99"], "{:.5f}") : "–",
                    has_kld ? fmt_num(v["kld"]["same_top_pct"], "{:.2f}") : "–"});
    if (std::exchange(base, false)) continue;
    ppl.push_back({v.value("bpw", 0.0), v.value("ppl", 0.0), v.value("model", "")});
    if (has_kld)
      kld.push_back(
          {v.value("bpw", 0.0), v["kld"]["kld"].value("mean", 0.0), v.value("model", "")});
  }
  r.table({"model", "MiB", "bpw", "PPL", "±", "KLD mean", "KLD p99", "same top %"}, rows);
  r.paragraph("The plots leave out the base model (first row); lower left is better.");
  r.raw(scatter_plot("Pareto: bpw vs KLD (dashed: Pareto front)", "bits per weight", "KLD", kld));
  r.raw(scatter_plot("Pareto: bpw vs PPL (dashed: Pareto front)", "bits per weight", "PPL", ppl));
  std::vector<std::vector<std::string>> pairs;
  for (const json& p : text["paired"])
    pairs.push_back(
        {p.value("a", ""), p.value("b", ""), fmt_num(p["mean_delta_nll"], "{:+.5f}"),
         fmt_num(p["std_error"], "{:.5f}"),
         fmt::format("[{}, {}]", fmt_num(p["ci_low"], "{:+.5f}"), fmt_num(p["ci_high"], "{:+.5f}")),
         p.value("distinguishable", false) ? "yes" : "no"});
  r.paragraph(
      "Paired ΔNLL = NLL(B) − NLL(A) on identical tokens (> 0: A is better), 95 % bootstrap "
      "interval over chunks; distinguishable when the interval excludes 0.");
  r.table({"A", "B", "mean ΔNLL", "SE", "95 % CI", "distinguishable"}, pairs);
}

void fit_section(HtmlReport& r, const json& j) {
  r.heading("Fit: " + j.value("model", ""), "fit");
  r.paragraph(fmt::format("Weights {:.2f} MiB; budget {:.2f} GiB; {} of {} layers keep a KV cache.",
                          mib(j["weights_bytes"]), j.value("vram_bytes", 0.0) / (1 << 30),
                          j.value("attention_layers", 0), j.value("layers", 0)));
  std::vector<std::vector<std::string>> rows;
  for (const json& row : j["rows"])
    rows.push_back({row.value("kv_type", ""), std::to_string(row.value("kv_bytes_per_token", 0)),
                    std::to_string(row.value("max_ctx", int64_t{0})),
                    fmt::format("{:.2f}", row.value("kv_cache", 0.0) / (1 << 30)),
                    fmt::format("{:.2f}", row.value("total", 0.0) / (1 << 30))});
  r.table({"KV type", "KV bytes/token", "max context", "KV GiB", "total GiB"}, rows);
}

void build(HtmlReport& r, const ReportSources& s) {
  if (s.inspect) model_section(r, *s.inspect);
  if (s.imatrix_compare) imatrix_section(r, *s.imatrix_compare, s.top_tensors);
  if (s.recipe_toml) recipe_section(r, *s.recipe_toml, s.recipe_name);
  if (s.compare)
    for (size_t i = 0; i < (*s.compare)["texts"].size(); ++i)
      variants_section(r, (*s.compare)["texts"][i], i);
  if (s.fit) fit_section(r, *s.fit);
}

}  // namespace

Expected<std::string> render_report(const ReportSources& sources) {
  HtmlReport r(sources.title);
  try {
    build(r, sources);
  } catch (const json::exception& e) {  // a document of the wrong shape
    return make_error(ErrorCode::kCorrupt, "unexpected JSON content: {}", e.what());
  }
  return r.render();
}

Status write_report(const ReportSources& sources, const std::filesystem::path& output) {
  QMIX_TRY_ASSIGN(const std::string html, render_report(sources));
  QMIX_TRY_ASSIGN(AtomicFile out, AtomicFile::create(output));
  QMIX_TRY(out.write(std::as_bytes(std::span(html.data(), html.size()))));
  return out.commit();
}

Expected<std::string> read_text_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec) && std::filesystem::file_size(path, ec) == 0)
    return std::string();
  QMIX_TRY_ASSIGN(MappedFile f, MappedFile::open(path));
  return std::string(reinterpret_cast<const char*>(f.bytes().data()), f.size());
}

Expected<json> read_json_file(const std::filesystem::path& path) {
  QMIX_TRY_ASSIGN(const std::string text, read_text_file(path));
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error(ErrorCode::kCorrupt, "{}: not valid JSON", path.string());
  return j;
}

}  // namespace qmix::report
