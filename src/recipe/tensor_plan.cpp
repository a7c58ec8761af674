#include "recipe/tensor_plan.h"

#include <algorithm>
#include <charconv>

#include "recipe/name_regex.h"

namespace qmix {
namespace {

constexpr std::string_view kArchitecture = "architecture";
constexpr std::string_view kManual = "manual";

// First element of an integer key that may be per-layer (an array); `fallback` when absent.
Expected<int64_t> first_int(const GgufFile& f, const std::string& key, int64_t fallback) {
  const GgufValue* v = f.find(key);
  if (v == nullptr) return fallback;
  if (v->is_array()) {
    const auto values = v->as_int_array();
    if (!values || values->empty())
      return make_error(ErrorCode::kCorrupt, "{}: key {} is not a non-empty integer array",
                        f.name(), key);
    return values->front();
  }
  return f.get_int(key);
}

struct CompiledRule {
  NameRegex pattern;
  const TensorRule* rule;
  bool used = false;
};

Expected<std::vector<CompiledRule>> compile_rules(const std::vector<TensorRule>& rules) {
  std::vector<CompiledRule> out;
  out.reserve(rules.size());
  for (const auto& r : rules) {
    auto pattern = NameRegex::compile(r.pattern);
    if (!pattern.ok())
      return std::move(pattern).error().with_context(r.source.empty() ? "rule" : r.source);
    out.push_back({std::move(*pattern), &r});
  }
  return out;
}

PolicyModel policy_model(const PlanModel& m, const PlanOptions& o) {
  PolicyModel p;
  p.arch = m.arch;
  p.n_layer = m.n_layer;
  p.n_head = m.n_head;
  p.n_head_kv = m.n_head_kv;
  p.n_expert = m.n_expert;
  p.has_imatrix = o.has_imatrix;
  p.tied_embeddings = true;
  for (const auto& t : m.tensors) {
    const PolicyTensor pt = make_policy_tensor(t.name, t.shape);
    if (pt.category == PolicyCategory::kAttnV) ++p.n_attn_v;
    if (pt.category == PolicyCategory::kOutput) p.tied_embeddings = false;
  }
  return p;
}

uint64_t element_count(const std::vector<int64_t>& shape) {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

uint64_t tensor_bytes(GgmlType type, const std::vector<int64_t>& shape) {
  const int64_t row = shape.empty() ? 1 : shape[0];
  const uint64_t rows = row == 0 ? 0 : element_count(shape) / static_cast<uint64_t>(row);
  return quant_type(type).row_bytes(row).value_or(0) * rows;
}

class Planner {
 public:
  Planner(const PlanModel& model, const PlanOptions& options, std::vector<CompiledRule> rules)
      : options_(options),
        rules_(std::move(rules)),
        policy_(*options.preset, policy_model(model, options)) {}

  Expected<TensorDecision> decide(const PlanTensor& t);
  std::vector<std::string> unused_rules() const;

 private:
  Status choose_quantized(const PolicyTensor& pt, TensorDecision& d);
  CompiledRule* matching_rule(const std::string& name);

  const PlanOptions& options_;
  std::vector<CompiledRule> rules_;
  PresetPolicy policy_;
};

CompiledRule* Planner::matching_rule(const std::string& name) {
  for (auto& r : rules_)
    if (r.pattern.search(name)) return &r;
  return nullptr;
}

std::vector<std::string> Planner::unused_rules() const {
  std::vector<std::string> out;
  for (const auto& r : rules_)
    if (!r.used) out.push_back(r.rule->source.empty() ? r.rule->pattern : r.rule->source);
  return out;
}

// A quantizable tensor under a quantized preset: rule, else the preset's mix (or --pure),
// then the block-size fallback.
Status Planner::choose_quantized(const PolicyTensor& pt, TensorDecision& d) {
  if (CompiledRule* rule = matching_rule(d.name)) {
    rule->used = true;
    d.type = rule->rule->type;
    d.step = DecisionStep::kRule;
    d.reason =
        rule->rule->source.empty() ? "rule '" + rule->rule->pattern + "'" : rule->rule->source;
    d.provenance = rule->rule->provenance;
  } else if (options_.mix == MixMode::kPure) {
    d.type = options_.preset->default_type;
    d.step = DecisionStep::kPure;
    d.reason = "--pure";
    d.provenance = kManual;
  } else {
    QMIX_TRY_ASSIGN(const PolicyChoice c, policy_.choose(pt, options_.output_type));
    d.type = c.type;
    d.step = DecisionStep::kPreset;
    d.reason = fmt::format("{}: {}", options_.preset->name, c.why);
    d.provenance = kArchitecture;
  }
  auto fallback = block_fallback(d.type, pt.shape[0]);
  if (!fallback.ok()) return fallback.error().with_context(d.name);
  const PolicyChoice fb = *fallback;
  if (fb.type != d.type) {
    d.reason += fmt::format("; rows of {} do not fit {}: {}", pt.shape[0], quant_type(d.type).name,
                            quant_type(fb.type).name);
    d.type = fb.type;
    d.fell_back = true;
  }
  return ok_status();
}

Expected<TensorDecision> Planner::decide(const PlanTensor& t) {
  TensorDecision d;
  d.name = t.name;
  d.shape = t.shape;
  d.source_type = t.type;
  d.type = t.type;
  d.provenance = kArchitecture;
  const PolicyTensor pt = make_policy_tensor(d.name, d.shape);
  d.quantizable = allows_quantization(pt, options_.output_tensor);
  const GgmlType preset_type = options_.preset->default_type;
  if (!d.quantizable) {
    d.reason = "not quantized (1-D, norm or small special tensor)";
  } else if (options_.token_embd_type && pt.category == PolicyCategory::kTokenEmbd) {
    d.type = *options_.token_embd_type;
    d.step = DecisionStep::kTokenEmbdFlag;
    d.reason = "--token-embedding-type";
    d.provenance = kManual;
  } else if (options_.output_type && pt.category == PolicyCategory::kOutput) {
    d.type = *options_.output_type;
    d.step = DecisionStep::kOutputFlag;
    d.reason = "--output-tensor-type";
    d.provenance = kManual;
  } else if (quant_type(preset_type).is_float()) {
    d.type = preset_type;
    d.step = DecisionStep::kPresetFloat;
    d.reason =
        fmt::format("{}: every weight in {}", options_.preset->name, quant_type(preset_type).name);
  } else {
    QMIX_TRY(choose_quantized(pt, d));
  }
  if (!quant_type(d.type).row_bytes(d.shape.empty() ? 1 : d.shape[0]))
    return make_error(ErrorCode::kInvalidArgument, "{}: rows of {} values do not fit {} ({})",
                      d.name, d.shape[0], quant_type(d.type).name, d.reason);
  if (d.quantizable) d.requires_imatrix = requires_imatrix(pt, d.type, *options_.preset);
  d.n_elements = element_count(d.shape);
  d.source_bytes = tensor_bytes(d.source_type, d.shape);
  d.bytes = tensor_bytes(d.type, d.shape);
  return d;
}

// The block index as llama.cpp's loader reads it (sscanf "blk.%d."), -1 outside blocks.
int order_block(const std::string& name) {
  if (!name.starts_with("blk.")) return -1;
  int block = -1;
  const char* first = name.data() + 4;
  std::from_chars(first, name.data() + name.size(), block);
  return block;
}

}  // namespace

Expected<PlanModel> plan_model_from_gguf(const GgufModel& model) {
  const GgufFile& f = model.metadata();
  PlanModel m;
  QMIX_TRY_ASSIGN(m.arch, f.get_string("general.architecture"));
  QMIX_TRY_ASSIGN(m.n_layer, f.get_int(m.arch + ".block_count"));
  QMIX_TRY_ASSIGN(m.n_head, first_int(f, m.arch + ".attention.head_count", 0));
  QMIX_TRY_ASSIGN(m.n_head_kv, first_int(f, m.arch + ".attention.head_count_kv", m.n_head));
  QMIX_TRY_ASSIGN(m.n_expert, first_int(f, m.arch + ".expert_count", 0));
  m.tensors.reserve(model.tensors().size());
  for (const auto& ref : model.tensors()) {
    m.tensors.push_back({ref.info->name, ref.info->shape, ref.info->type});
    m.locations.push_back({ref.shard, ref.info->offset});
  }
  return m;
}

bool plan_order_less(const std::string& a, const std::string& b) {
  const int la = order_block(a);
  const int lb = order_block(b);
  if (la != lb) return la < lb;
  return a < b;
}

std::string_view decision_step_name(DecisionStep step) {
  switch (step) {
    case DecisionStep::kNotQuantized:
      return "kept";
    case DecisionStep::kTokenEmbdFlag:
      return "token-embedding-type";
    case DecisionStep::kOutputFlag:
      return "output-tensor-type";
    case DecisionStep::kRule:
      return "rule";
    case DecisionStep::kPreset:
      return "preset";
    case DecisionStep::kPresetFloat:
      return "preset";
    case DecisionStep::kPure:
      return "pure";
  }
  return "?";
}

namespace {

// Indices of model.tensors in the order of `order`.
Expected<std::vector<size_t>> plan_order(const PlanModel& model, PlanOrder order) {
  std::vector<size_t> idx(model.tensors.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  if (order == PlanOrder::kByName) {
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
      return plan_order_less(model.tensors[a].name, model.tensors[b].name);
    });
    return idx;
  }
  if (model.locations.size() != model.tensors.size())
    return make_error(ErrorCode::kInvalidArgument, "the tensors' shards are not known");
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    const TensorLocation& x = model.locations[a];
    const TensorLocation& y = model.locations[b];
    return x.shard != y.shard ? x.shard < y.shard : x.offset < y.offset;
  });
  return idx;
}

}  // namespace

Expected<QuantPlan> compute_plan(const PlanModel& model, const PlanOptions& options) {
  QMIX_CHECK(options.preset != nullptr);
  QMIX_TRY_ASSIGN(auto rules, compile_rules(options.rules));
  QMIX_TRY_ASSIGN(const auto order, plan_order(model, options.order));
  Planner planner(model, options, std::move(rules));
  QuantPlan plan;
  plan.preset = options.preset;
  plan.tensors.reserve(order.size());
  for (const size_t i : order) {
    QMIX_TRY_ASSIGN(auto d, planner.decide(model.tensors[i]));
    if (!model.locations.empty()) d.shard = model.locations[i].shard;
    if (d.fell_back) ++plan.n_fell_back;
    plan.tensors.push_back(std::move(d));
  }
  plan.unused_rules = planner.unused_rules();
  return plan;
}

uint64_t QuantPlan::n_elements() const {
  uint64_t n = 0;
  for (const auto& t : tensors) n += t.n_elements;
  return n;
}

uint64_t QuantPlan::source_bytes() const {
  uint64_t n = 0;
  for (const auto& t : tensors) n += t.source_bytes;
  return n;
}

uint64_t QuantPlan::bytes() const {
  uint64_t n = 0;
  for (const auto& t : tensors) n += t.bytes;
  return n;
}

double QuantPlan::bits_per_weight() const {
  const uint64_t n = n_elements();
  return n == 0 ? 0.0 : 8.0 * static_cast<double>(bytes()) / static_cast<double>(n);
}

double QuantPlan::bits_per_weight_quantizable() const {
  uint64_t n = 0, b = 0;
  for (const auto& t : tensors) {
    if (!t.quantizable) continue;
    n += t.n_elements;
    b += t.bytes;
  }
  return n == 0 ? 0.0 : 8.0 * static_cast<double>(b) / static_cast<double>(n);
}

std::map<GgmlType, TypeTotals> QuantPlan::histogram() const {
  std::map<GgmlType, TypeTotals> h;
  for (const auto& t : tensors) {
    auto& e = h[t.type];
    ++e.tensors;
    e.n_elements += t.n_elements;
    e.bytes += t.bytes;
  }
  return h;
}

bool QuantPlan::needs_imatrix() const {
  return std::ranges::any_of(tensors, [](const TensorDecision& t) {
    return t.requires_imatrix && t.type != t.source_type;
  });
}

}  // namespace qmix
