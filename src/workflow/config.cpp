#include "workflow/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <set>

#include "report/report_document.h"

namespace qmix::workflow {

namespace fs = std::filesystem;

std::string_view imatrix_choice_name(ImatrixChoice choice) {
  switch (choice) {
    case ImatrixChoice::kNone:
      return "none";
    case ImatrixChoice::kGeneric:
      return "generic";
    case ImatrixChoice::kDomain:
      return "domain";
  }
  return "?";
}

std::vector<int> WorkflowConfig::derive_levels() const {
  std::set<int> levels;
  for (const VariantSpec& v : variants)
    if (v.derive_level > 0) levels.insert(v.derive_level);
  return {levels.begin(), levels.end()};
}

const VariantSpec* WorkflowConfig::variant(std::string_view wanted) const {
  for (const VariantSpec& v : variants)
    if (v.name == wanted) return &v;
  return nullptr;
}

namespace {

// Reads one table's keys into fields, with errors "file: [table] key: …"; remembers which keys
// it was asked about so that anything else is reported as unknown.
class TableReader {
 public:
  TableReader(const toml::table* table, std::string where, const WorkflowConfig& config)
      : table_(table), where_(std::move(where)), config_(config) {}

  Status string(std::string_view key, std::string& into) { return get(key, into); }
  Status integer(std::string_view key, int64_t& into) { return get(key, into); }
  Status integer(std::string_view key, int& into) {
    int64_t v = into;
    QMIX_TRY(get(key, v));
    into = static_cast<int>(v);
    return ok_status();
  }
  Status number(std::string_view key, double& into) {
    known_.insert(std::string(key));
    const toml::node* n = node(key);
    if (!n) return ok_status();
    if (auto v = n->value<double>()) {
      into = *v;
      return ok_status();
    }
    return wrong(key, "a number");
  }
  Status path(std::string_view key, fs::path& into) {
    std::string text;
    QMIX_TRY(get(key, text));
    if (!text.empty()) into = resolve(text);
    return ok_status();
  }
  Status strings(std::string_view key, std::vector<std::string>& into) {
    known_.insert(std::string(key));
    const toml::node* n = node(key);
    if (!n) return ok_status();
    const toml::array* a = n->as_array();
    if (!a) return wrong(key, "an array of strings");
    into.clear();
    for (const toml::node& item : *a) {
      const auto s = item.value<std::string>();
      if (!s) return wrong(key, "an array of strings");
      into.push_back(*s);
    }
    return ok_status();
  }
  Status paths(std::string_view key, std::vector<fs::path>& into) {
    std::vector<std::string> texts;
    QMIX_TRY(strings(key, texts));
    if (!texts.empty()) into.clear();
    for (const std::string& t : texts) into.push_back(resolve(t));
    return ok_status();
  }
  Status check_unknown() const {
    if (!table_) return ok_status();
    for (const auto& [key, value] : *table_)
      if (!known_.count(std::string(key.str())))
        return make_error(ErrorCode::kInvalidArgument, "{}: {}: unknown key '{}'",
                          config_.config_file.string(), where_, key.str());
    return ok_status();
  }

 private:
  const toml::node* node(std::string_view key) const { return table_ ? table_->get(key) : nullptr; }
  fs::path resolve(const std::string& text) const {
    const fs::path p(text);
    fs::path full =
        p.is_absolute() ? p : (config_.config_file.parent_path() / p).lexically_normal();
    if (!full.has_filename() && full.has_parent_path()) full = full.parent_path();  // "dir/"
    return full;
  }
  template <class T>
  Status get(std::string_view key, T& into) {
    known_.insert(std::string(key));
    const toml::node* n = node(key);
    if (!n) return ok_status();
    if (auto v = n->value_exact<T>()) {
      into = *v;
      return ok_status();
    }
    return wrong(key, std::is_same_v<T, std::string> ? "a string" : "an integer");
  }
  Status wrong(std::string_view key, std::string_view kind) const {
    return make_error(ErrorCode::kInvalidArgument, "{}: {}: '{}' must be {}",
                      config_.config_file.string(), where_, key, kind);
  }

  const toml::table* table_;
  std::string where_;
  const WorkflowConfig& config_;
  std::set<std::string> known_;
};

const toml::table* table_of(const toml::table& root, std::string_view name) {
  const toml::node* n = root.get(name);
  return n ? n->as_table() : nullptr;
}

Status read_top(const toml::table& root, WorkflowConfig& c) {
  static const std::set<std::string_view> kTables{"workflow", "model", "calibration", "compare",
                                                  "derive",   "plan",  "variant",     "eval",
                                                  "fit",      "report"};
  for (const auto& [key, value] : root)
    if (!kTables.count(key.str()) || (key.str() != "variant" && !value.is_table()))
      return make_error(ErrorCode::kInvalidArgument, "{}: unknown table '{}'",
                        c.config_file.string(), key.str());
  TableReader w(table_of(root, "workflow"), "[workflow]", c);
  QMIX_TRY(w.string("name", c.name));
  QMIX_TRY(w.string("title", c.title));
  QMIX_TRY(w.path("output", c.output_dir));
  QMIX_TRY(w.integer("threads", c.threads));
  QMIX_TRY(w.check_unknown());
  TableReader m(table_of(root, "model"), "[model]", c);
  QMIX_TRY(m.path("hf", c.hf_dir));
  QMIX_TRY(m.path("gguf", c.gguf));
  QMIX_TRY(m.string("outtype", c.outtype));
  return m.check_unknown();
}

Status read_method(const toml::table& root, WorkflowConfig& c) {
  TableReader cal(table_of(root, "calibration"), "[calibration]", c);
  QMIX_TRY(cal.path("generic", c.generic_text));
  QMIX_TRY(cal.path("domain", c.domain_text));
  QMIX_TRY(cal.integer("ctx", c.calibration_ctx));
  QMIX_TRY(cal.integer("chunks", c.calibration_chunks));
  QMIX_TRY(cal.check_unknown());
  TableReader cmp(table_of(root, "compare"), "[compare]", c);
  QMIX_TRY(cmp.number("demote_below", c.demote_below));
  QMIX_TRY(cmp.number("promote_above", c.promote_above));
  QMIX_TRY(cmp.integer("zones", c.zones));
  QMIX_TRY(cmp.integer("top", c.top));
  QMIX_TRY(cmp.string("demote_type", c.demote_type));
  QMIX_TRY(cmp.string("promote_type", c.promote_type));
  QMIX_TRY(cmp.check_unknown());
  TableReader d(table_of(root, "derive"), "[derive]", c);
  QMIX_TRY(d.string("base", c.derive_base));
  QMIX_TRY(d.integer("top_n", c.top_n));
  QMIX_TRY(d.integer("top_m", c.top_m));
  QMIX_TRY(d.check_unknown());
  TableReader pl(table_of(root, "plan"), "[plan]", c);
  QMIX_TRY(pl.number("domain_weight", c.plan_domain_weight));
  QMIX_TRY(pl.number("generic_weight", c.plan_generic_weight));
  QMIX_TRY(pl.path("measure", c.plan_measure_text));
  QMIX_TRY(pl.integer("measure_ctx", c.plan_measure_ctx));
  QMIX_TRY(pl.integer("measure_chunks", c.plan_measure_chunks));
  QMIX_TRY(pl.integer("measure_zones", c.plan_measure_zones));
  QMIX_TRY(pl.check_unknown());
  TableReader e(table_of(root, "eval"), "[eval]", c);
  QMIX_TRY(e.paths("texts", c.eval_texts));
  QMIX_TRY(e.integer("ctx", c.eval_ctx));
  QMIX_TRY(e.integer("chunks", c.eval_chunks));
  QMIX_TRY(e.check_unknown());
  TableReader f(table_of(root, "fit"), "[fit]", c);
  QMIX_TRY(f.string("vram", c.vram));
  QMIX_TRY(f.strings("kv_types", c.kv_types));
  QMIX_TRY(f.string("variant", c.fit_variant));
  QMIX_TRY(f.check_unknown());
  TableReader r(table_of(root, "report"), "[report]", c);
  QMIX_TRY(r.string("variant", c.report_variant));
  return r.check_unknown();
}

Expected<VariantSpec> read_variant(const toml::node& node, size_t index, WorkflowConfig& c) {
  const std::string where = fmt::format("[[variant]] #{}", index + 1);
  if (!node.is_table())
    return make_error(ErrorCode::kInvalidArgument, "{}: {} is not a table", c.config_file.string(),
                      where);
  TableReader r(node.as_table(), where, c);
  VariantSpec v;
  std::string imatrix = "none";
  QMIX_TRY(r.string("name", v.name));
  QMIX_TRY(r.string("preset", v.preset));
  QMIX_TRY(r.string("imatrix", imatrix));
  QMIX_TRY(r.integer("derive", v.derive_level));
  QMIX_TRY(r.path("recipe", v.recipe_file));
  QMIX_TRY(r.number("plan_bpw", v.plan_bpw));
  QMIX_TRY(r.check_unknown());
  const auto fail = [&](std::string_view what) {
    return make_error(ErrorCode::kInvalidArgument, "{}: {}: {}", c.config_file.string(), where,
                      what);
  };
  if (v.preset.empty()) return fail("'preset' is required");
  if (v.name.empty()) v.name = v.preset;
  if (v.name.find_first_of("/\\ ") != std::string::npos)
    return fail("'name' is part of a file name: no slashes or spaces");
  if (imatrix == "none")
    v.imatrix = ImatrixChoice::kNone;
  else if (imatrix == "generic")
    v.imatrix = ImatrixChoice::kGeneric;
  else if (imatrix == "domain")
    v.imatrix = ImatrixChoice::kDomain;
  else
    return fail("'imatrix' must be \"none\", \"generic\" or \"domain\"");
  if (v.derive_level < 0 || v.derive_level > 3) return fail("'derive' must be a level 1-3");
  if ((v.derive_level > 0) + !v.recipe_file.empty() + (v.plan_bpw > 0) > 1)
    return fail("give one of 'derive', 'recipe' and 'plan_bpw'");
  if (v.plan_bpw < 0) return fail("'plan_bpw' must be positive");
  return v;
}

Status check_config(const WorkflowConfig& c) {
  const auto fail = [&](std::string_view what) {
    return make_error(ErrorCode::kInvalidArgument, "{}: {}", c.config_file.string(), what);
  };
  if (c.hf_dir.empty() == c.gguf.empty())
    return fail("[model] needs exactly one of 'hf' (a Hugging Face directory) and 'gguf'");
  if (c.generic_text.empty() || c.domain_text.empty())
    return fail("[calibration] needs 'generic' and 'domain' text files");
  if (c.variants.empty()) return fail("at least one [[variant]] is needed");
  if (c.eval_texts.empty()) return fail("[eval] needs 'texts'");
  if (c.calibration_ctx < 2 || c.eval_ctx < 2) return fail("'ctx' must be at least 2");
  if (c.plan_domain_weight < 0 || c.plan_generic_weight < 0 ||
      c.plan_domain_weight + c.plan_generic_weight <= 0)
    return fail("[plan] weights must be non-negative and not both 0");
  if (c.plan_measure_ctx < 8 || c.plan_measure_chunks < 1 || c.plan_measure_zones < 1 ||
      c.plan_measure_zones > 64)
    return fail("[plan] measure_ctx must be >= 8, measure_chunks >= 1, measure_zones 1..64");
  std::set<std::string> names;
  for (const VariantSpec& v : c.variants)
    if (!names.insert(v.name).second)
      return fail(fmt::format("two variants are named '{}'", v.name));
  if (!c.variant(c.fit_variant))
    return fail(fmt::format("[fit] variant '{}' is not a [[variant]]", c.fit_variant));
  if (!c.variant(c.report_variant))
    return fail(fmt::format("[report] variant '{}' is not a [[variant]]", c.report_variant));
  return ok_status();
}

}  // namespace

Expected<WorkflowConfig> parse_workflow_config(std::string_view toml_text, const fs::path& path) {
  WorkflowConfig c;
  c.config_file = path;
  toml::table root;
  try {
    root = toml::parse(toml_text, path.string());
  } catch (const toml::parse_error& e) {
    return make_error(ErrorCode::kInvalidArgument, "{}:{}: {}", path.string(),
                      e.source().begin.line, e.description());
  }
  QMIX_TRY(read_top(root, c));
  QMIX_TRY(read_method(root, c));
  if (const toml::node* vs = root.get("variant")) {
    const toml::array* a = vs->as_array();
    if (!a)
      return make_error(ErrorCode::kInvalidArgument, "{}: write variants as [[variant]] tables",
                        path.string());
    for (size_t i = 0; i < a->size(); ++i) {
      QMIX_TRY_ASSIGN(VariantSpec v, read_variant(*a->get(i), i, c));
      c.variants.push_back(std::move(v));
    }
  }
  if (c.name.empty()) c.name = (c.hf_dir.empty() ? c.gguf.stem() : c.hf_dir.filename()).string();
  if (c.title.empty()) c.title = fmt::format("qmix workflow: {}", c.name);
  if (c.output_dir.empty()) c.output_dir = path.parent_path() / "out";
  if (c.fit_variant.empty() && !c.variants.empty()) c.fit_variant = c.variants.front().name;
  if (c.report_variant.empty()) c.report_variant = c.fit_variant;
  QMIX_TRY(check_config(c));
  return c;
}

Expected<WorkflowConfig> load_workflow_config(const fs::path& path) {
  QMIX_TRY_ASSIGN(const std::string text, report::read_text_file(path));
  return parse_workflow_config(text, path.lexically_normal());
}

}  // namespace qmix::workflow
