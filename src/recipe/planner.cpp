#include "recipe/planner.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include <fmt/format.h>

#include "core/byte_size.h"
#include "core/thread_pool.h"
#include "gguf/gguf_model.h"
#include "imatrix/imatrix_file.h"
#include "model/hparams.h"
#include "model/memory_model.h"
#include "recipe/importance.h"
#include "recipe/plan_floors.h"
#include "recipe/plan_sensitivity.h"
#include "recipe/plan_solver.h"
#include "recipe/planner_detail.h"
#include "recipe/presets.h"
#include "recipe/quant_policy.h"
#include "recipe/recipe_plan.h"

namespace qmix {

std::string_view loss_model_name(LossModel model) {
  return model == LossModel::kRelative ? "relative" : "absolute";
}

Expected<LossModel> loss_model_by_name(std::string_view name) {
  if (name == "relative") return LossModel::kRelative;
  if (name == "absolute") return LossModel::kAbsolute;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown loss model '{}' (expected relative or absolute)", name);
}

std::vector<GgmlType> default_plan_candidates() {
  using G = GgmlType;
  return {G::Q2_K, G::Q3_K, G::IQ4_XS, G::Q4_K, G::Q5_K, G::Q6_K, G::Q8_0};
}

std::string_view plan_status_name(PlanStatus status) {
  switch (status) {
    case PlanStatus::kPlanned:
      return "planned";
    case PlanStatus::kFixedByRule:
      return "rule";
    case PlanStatus::kNotQuantized:
      return "kept";
  }
  return "?";
}

namespace plan_detail {

Expected<std::vector<GgmlType>> recipe_types(const Recipe& recipe, const PlanModel& model,
                                             const Preset& preset, ImatrixUse use,
                                             RecipePlan* keep) {
  PlanOptions options;
  options.preset = &preset;
  options.has_imatrix = use == ImatrixUse::kWith;
  QMIX_TRY_ASSIGN(RecipePlan rp, plan_recipe(recipe, model, options, LayerMapping::kScale, "plan"));
  options.rules = rp.rules;
  QMIX_TRY_ASSIGN(const QuantPlan plan, compute_plan(model, options));
  std::unordered_map<std::string_view, GgmlType> by_name;
  for (const TensorDecision& d : plan.tensors) by_name.emplace(d.name, d.type);
  std::vector<GgmlType> out;
  out.reserve(model.tensors.size());
  for (const PlanTensor& t : model.tensors) out.push_back(by_name.at(t.name));
  if (keep != nullptr) *keep = std::move(rp);
  return out;
}

}  // namespace plan_detail

namespace {

using plan_detail::ImatrixUse;
using plan_detail::recipe_types;

uint64_t bytes_as(GgmlType type, const PlanTensor& t) {
  uint64_t n = 1;
  for (size_t d = 1; d < t.shape.size(); ++d) n *= static_cast<uint64_t>(t.shape[d]);
  const auto row = quant_type(type).row_bytes(t.shape.empty() ? 1 : t.shape[0]);
  return row ? *row * n : 0;
}

uint64_t element_count(const PlanTensor& t) {
  uint64_t n = 1;
  for (const int64_t d : t.shape) n *= static_cast<uint64_t>(d);
  return n;
}

Expected<uint64_t> budget_bytes(const PlanBudget& b, const GgufModel& file, uint64_t n_elements) {
  switch (b.kind) {
    case BudgetKind::kBitsPerWeight:
      if (!(b.bpw > 0))
        return make_error(ErrorCode::kInvalidArgument, "--target-bpw must be positive");
      return static_cast<uint64_t>(std::floor(b.bpw * static_cast<double>(n_elements) / 8.0));
    case BudgetKind::kBytes:
      return b.bytes;
    case BudgetKind::kVram: {
      auto hp = read_hparams(file.metadata());
      if (!hp.ok()) return hp.error().with_context(file.display_name());
      MemoryRequest r;
      r.n_ctx = b.ctx;
      r.k_type = r.v_type = b.kv_type;
      r.runtime_overhead = b.overhead;
      const uint64_t rest = estimate_memory(*hp, 0, r).total();
      if (rest >= b.bytes)
        return make_error(ErrorCode::kOutOfRange,
                          "--vram {}: the KV cache, state, compute buffers and overhead at {} "
                          "tokens already take {}, nothing is left for the weights",
                          format_bytes(b.bytes), b.ctx, format_bytes(rest));
      return b.bytes - rest;
    }
  }
  return make_error(ErrorCode::kInternal, "unknown budget kind");
}

// The limits and the deciding rule the base recipe (with the floors) puts on each tensor.
struct Limits {
  std::optional<GgmlType> floor, ceiling;
  bool fixed = false;  // an architecture/manual `type` rule decides
  std::string text;
};

Limits limits_of(const Recipe& recipe, const TensorPick& pick) {
  Limits l;
  std::vector<std::string> parts;
  for (const int r : pick.matched) {
    const RecipeRule& rule = recipe.rules[static_cast<size_t>(r)];
    const std::string label = rule_label(recipe, static_cast<size_t>(r));
    if (rule.min_type && (!l.floor || type_bits(*rule.min_type) > type_bits(*l.floor))) {
      l.floor = rule.min_type;
      parts.push_back(fmt::format("floor {} ({})", type_name(*rule.min_type), label));
    }
    if (rule.max_type && (!l.ceiling || type_bits(*rule.max_type) < type_bits(*l.ceiling))) {
      l.ceiling = rule.max_type;
      parts.push_back(fmt::format("ceiling {} ({})", type_name(*rule.max_type), label));
    }
  }
  if (pick.chosen_by >= 0) {
    const RecipeRule& rule = recipe.rules[static_cast<size_t>(pick.chosen_by)];
    if (rule.provenance != Provenance::kData) {
      l.fixed = true;
      parts.push_back(fmt::format("type chosen by {}",
                                  rule_label(recipe, static_cast<size_t>(pick.chosen_by))));
    }
  }
  for (size_t i = 0; i < parts.size(); ++i) l.text += (i ? "; " : "") + parts[i];
  return l;
}

bool within(GgmlType t, const Limits& l) {
  if (l.floor && type_bits(t) < type_bits(*l.floor)) return false;
  if (l.ceiling && type_bits(t) > type_bits(*l.ceiling)) return false;
  return true;
}

// The types a planned tensor may take: candidates and the base's type, each through the
// row-size fallback, within the limits, and only where quantize could make them.
std::vector<GgmlType> option_types(const PlanTensor& t, std::span<const GgmlType> candidates,
                                   GgmlType base_type, const Limits& limits, bool has_importance,
                                   const Preset& preset) {
  const PolicyTensor pt = make_policy_tensor(t.name, t.shape);
  std::vector<GgmlType> wanted(candidates.begin(), candidates.end());
  wanted.push_back(base_type);
  std::vector<GgmlType> out;
  for (const GgmlType want : wanted) {
    auto fb = block_fallback(want, t.shape.empty() ? 1 : t.shape[0]);
    if (!fb.ok()) continue;
    const GgmlType type = fb->type;
    if (!within(type, limits) || std::ranges::find(out, type) != out.end()) continue;
    if (!has_importance && requires_imatrix(pt, type, preset)) continue;
    out.push_back(type);
  }
  if (out.empty()) out.push_back(limits.floor ? *limits.floor : base_type);
  std::ranges::sort(out, [&](GgmlType a, GgmlType b) { return bytes_as(a, t) < bytes_as(b, t); });
  return out;
}

void add_floors(Recipe& recipe, const PlanModel& model) {
  for (const ArchitectureFloor& f : plan_architecture_floors()) {
    const bool present = std::ranges::any_of(model.tensors, [&](const PlanTensor& t) {
      return parse_tensor_name(t.name).role == f.role;
    });
    if (!present) continue;
    RecipeRule rule;
    rule.roles.push_back({f.role, std::nullopt});
    rule.min_type = f.min;
    rule.provenance = Provenance::kArchitecture;
    rule.reason = std::string(f.reason);
    recipe.rules.push_back(std::move(rule));
  }
}

// Everything read once: the model, the importance data and the base.
struct Inputs {
  GgufModel file;
  PlanModel model;
  const Preset* preset = nullptr;
  Recipe recipe;  // the base recipe (or just the preset) with the architecture floors
  std::vector<Imatrix> imatrices;
  ImportanceMix mix;
  ImportanceData quant;  // what quantize hands the kernels
};

Status read_inputs(const PlanRequest& req, Inputs& in) {
  if (req.imatrices.empty())
    return make_error(ErrorCode::kInvalidArgument, "plan needs at least one --imatrix");
  QMIX_TRY_ASSIGN(in.file, GgufModel::open(req.model));
  QMIX_TRY_ASSIGN(in.model, plan_model_from_gguf(in.file));
  in.recipe = req.base_recipe.value_or(Recipe{});
  if (in.recipe.base.empty()) in.recipe.base = req.base;
  QMIX_TRY_ASSIGN(in.preset, find_preset(in.recipe.base));
  if (quant_type(in.preset->default_type).is_float())
    return make_error(ErrorCode::kInvalidArgument,
                      "base preset {} quantizes nothing; choose a quantized preset such as Q4_K_M",
                      in.preset->name);
  if (in.recipe.architecture.empty()) in.recipe.architecture = in.model.arch;
  if (in.recipe.layers == 0) in.recipe.layers = static_cast<int>(in.model.n_layer);
  add_floors(in.recipe, in.model);
  in.imatrices.reserve(req.imatrices.size());
  std::vector<WeightedImatrix> weighted;
  for (const PlanImatrixInput& im : req.imatrices) {
    QMIX_TRY_ASSIGN(Imatrix m, read_imatrix(im.path));
    in.imatrices.push_back(std::move(m));
  }
  for (size_t k = 0; k < req.imatrices.size(); ++k)
    weighted.push_back({&in.imatrices[k], req.imatrices[k].weight});
  QMIX_TRY_ASSIGN(in.mix, ImportanceMix::create(weighted));
  const std::filesystem::path quant =
      req.quantize_imatrix.empty() ? req.imatrices.front().path : req.quantize_imatrix;
  QMIX_TRY_ASSIGN(in.quant, read_importance(quant, {}));
  return ok_status();
}

// Matrices of a tensor: its shape beyond the first two dimensions (experts).
int64_t matrices_of(const PlanTensor& t) {
  int64_t n = 1;
  for (size_t d = 2; d < t.shape.size(); ++d) n *= t.shape[d];
  return n;
}

std::span<const float> quant_importance(const Inputs& in, const PlanTensor& t) {
  const auto it = in.quant.values.find(t.name);
  const auto cols = t.shape.empty() ? 1 : t.shape[0];
  if (it == in.quant.values.end() ||
      it->second.size() != static_cast<size_t>(cols * matrices_of(t)))
    return {};
  return it->second;
}

// Sorts tensors into kept, fixed by a rule, and planned (with their options).
std::vector<PlanEntry> classify(const Inputs& in, const RecipePlan& rp,
                                std::span<const GgmlType> base_types,
                                std::span<const GgmlType> candidates) {
  std::vector<PlanEntry> out;
  for (size_t i = 0; i < in.model.tensors.size(); ++i) {
    const PlanTensor& t = in.model.tensors[i];
    PlanEntry p;
    p.name = t.name;
    p.role = std::string(role_info(parse_tensor_name(t.name).role).name);
    p.n_elements = element_count(t);
    p.base_type = p.type = base_types[i];
    p.bytes = bytes_as(p.type, t);
    p.base_loss = p.loss = 0;
    const PolicyTensor pt = make_policy_tensor(t.name, t.shape);
    if (!allows_quantization(pt, OutputTensorMode::kQuantize)) {
      p.status = PlanStatus::kNotQuantized;
      out.push_back(std::move(p));
      continue;
    }
    const Limits limits = limits_of(rp.report.recipe, rp.report.resolution.picks[i]);
    p.constraint = limits.text;
    p.status = limits.fixed ? PlanStatus::kFixedByRule : PlanStatus::kPlanned;
    const std::vector<GgmlType> types =
        limits.fixed ? std::vector<GgmlType>{p.type}
                     : option_types(t, candidates, p.base_type, limits,
                                    !quant_importance(in, t).empty(), *in.preset);
    for (const GgmlType type : types) p.options.push_back({type, bytes_as(type, t), 0, 0});
    out.push_back(std::move(p));
  }
  return out;
}

Expected<std::vector<TensorSensitivity>> measure(const Inputs& in, const PlanRequest& req,
                                                 const std::vector<PlanEntry>& tensors,
                                                 ThreadPool& pool) {
  std::vector<SensitivityTensor> jobs;
  std::vector<size_t> index;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const PlanEntry& p = tensors[i];
    if (p.status == PlanStatus::kNotQuantized) continue;
    const PlanTensor& t = in.model.tensors[i];
    const GgufTensorRef* ref = in.file.find_tensor(t.name);
    SensitivityTensor job;
    job.name = t.name;
    job.source_type = t.type;
    job.data = in.file.tensor_data(*ref);
    job.cols = t.shape.empty() ? 1 : t.shape[0];
    job.rows = t.shape.size() > 1 ? t.shape[1] : 1;
    job.n_mat = matrices_of(t);
    for (const PlanOption& o : p.options) job.types.push_back(o.type);
    if (req.probe != nullptr && p.status == PlanStatus::kPlanned)
      if (auto fb = block_fallback(req.probe_type, job.cols); fb.ok())
        if (std::ranges::find(job.types, fb->type) == job.types.end())
          job.types.push_back(fb->type);
    job.quant_importance = quant_importance(in, t);
    job.weights = in.mix.weights_for(t.name, job.cols, job.n_mat);
    jobs.push_back(std::move(job));
    index.push_back(i);
  }
  SensitivityOptions o;
  o.max_rows = req.sample_rows;
  o.cache_dir = req.cache_dir;
  o.pool = &pool;
  o.progress = req.progress;
  o.warnings = req.warnings;
  o.cancel = req.cancel;
  QMIX_TRY_ASSIGN(std::vector<TensorSensitivity> measured, measure_tensors(jobs, o));
  std::vector<TensorSensitivity> out(tensors.size());
  for (size_t k = 0; k < index.size(); ++k) out[index[k]] = std::move(measured[k]);
  return out;
}

double metric(const TensorSensitivity& s, GgmlType type, LossModel model) {
  const auto it = s.error.find(type);
  if (it == s.error.end()) return NAN;
  return model == LossModel::kAbsolute ? it->second : s.relative(type);
}

// Geometric mean of the finite scales among `keys` (NaN if none).
double geometric_mean(const std::map<std::string, double>& scales,
                      const std::vector<std::string>& keys) {
  double log_sum = 0;
  int n = 0;
  for (const std::string& k : keys)
    if (const double s = scales.at(k); std::isfinite(s)) {
      log_sum += std::log(s);
      ++n;
    }
  return n ? std::exp(log_sum / n) : NAN;
}

void fill_unmeasured(std::map<std::string, double>& scales, const std::vector<PlanEntry>& tensors) {
  std::map<std::string, std::vector<std::string>> by_role;
  std::vector<std::string> all;
  for (const auto& [group, s] : scales) all.push_back(group);
  for (const PlanEntry& p : tensors)
    if (scales.contains(p.scale_group)) {
      auto& keys = by_role[p.role];
      if (std::ranges::find(keys, p.scale_group) == keys.end()) keys.push_back(p.scale_group);
    }
  const double overall = geometric_mean(scales, all);
  std::map<std::string, double> filled = scales;
  for (const PlanEntry& p : tensors) {
    if (!scales.contains(p.scale_group) || std::isfinite(scales.at(p.scale_group))) continue;
    const double role = geometric_mean(scales, by_role[p.role]);
    filled[p.scale_group] = std::isfinite(role) ? role : std::isfinite(overall) ? overall : 1.0;
  }
  scales = std::move(filled);
}

// Names each tensor's scale group: its role, and with --measure and several zones its layer zone
// ("attn_output@blk.0", "ffn_down@blk.1-6").
void set_scale_groups(std::vector<PlanEntry>& tensors, const PlanRequest& req) {
  int n_blocks = 0;
  for (const PlanEntry& p : tensors)
    n_blocks = std::max(n_blocks, parse_tensor_name(p.name).block + 1);
  const int zones = req.probe == nullptr ? 1 : std::max(1, req.probe_zones);
  std::map<int, std::pair<int, int>> span;  // zone -> first and last block
  for (int b = 0; b < n_blocks; ++b) {
    const int z = layer_zone(b, n_blocks, zones);
    const auto [it, fresh] = span.try_emplace(z, b, b);
    if (!fresh) it->second.second = b;
  }
  for (PlanEntry& p : tensors) {
    const int block = parse_tensor_name(p.name).block;
    p.scale_group = p.role;
    if (zones == 1 || block < 0) continue;
    const auto [first, last] = span.at(layer_zone(block, n_blocks, zones));
    p.scale_group +=
        first == last ? fmt::format("@blk.{}", first) : fmt::format("@blk.{}-{}", first, last);
  }
}

// --measure: per scale group, the measured KLD of quantizing the group alone to the probe type
// over the summed metric of the same change; groups the probe cannot scale get the geometric
// mean of their role's measured zones, or of all measured groups.
Expected<std::map<std::string, double>> role_scales(const PlanModel& model,
                                                    const std::vector<PlanEntry>& tensors,
                                                    const std::vector<TensorSensitivity>& sens,
                                                    const PlanRequest& req) {
  std::map<std::string, std::vector<size_t>> groups;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].status == PlanStatus::kPlanned) groups[tensors[i].scale_group].push_back(i);
  std::map<std::string, double> scales;
  for (const PlanEntry& p : tensors)
    if (p.status != PlanStatus::kNotQuantized) scales[p.scale_group] = req.probe ? NAN : 1.0;
  if (req.probe == nullptr) return scales;
  for (const auto& [group, members] : groups) {
    std::vector<std::pair<std::string, GgmlType>> change;
    double predicted = 0;
    for (const size_t i : members) {
      const PlanTensor& t = model.tensors[i];
      auto fb = block_fallback(req.probe_type, t.shape.empty() ? 1 : t.shape[0]);
      if (!fb.ok() || !sens[i].error.contains(fb->type)) continue;
      change.emplace_back(t.name, fb->type);
      predicted += metric(sens[i], fb->type, req.loss);
    }
    if (change.empty() || !(predicted > 0)) continue;
    QMIX_TRY_ASSIGN(const double kld, req.probe->measure(change));
    if (kld > 0) scales[group] = kld / predicted;
  }
  fill_unmeasured(scales, tensors);
  return scales;
}

void fill_losses(std::vector<PlanEntry>& tensors, const std::vector<TensorSensitivity>& sens,
                 const std::map<std::string, double>& scales, LossModel model) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    PlanEntry& p = tensors[i];
    if (p.status == PlanStatus::kNotQuantized) continue;
    const double scale = scales.at(p.scale_group);
    p.energy = sens[i].energy;
    for (PlanOption& o : p.options) {
      o.error = sens[i].error.at(o.type);
      o.loss = scale * metric(sens[i], o.type, model);
    }
    const double base = metric(sens[i], p.base_type, model);
    p.base_loss = std::isfinite(base) ? scale * base : NAN;
  }
}

// Loss saved per byte on the steps into and out of the chosen option, along its hull.
void set_gains(PlanEntry& p, size_t chosen) {
  KnapsackItem item;
  for (const PlanOption& o : p.options) item.options.push_back({o.bytes, o.loss});
  const std::vector<size_t> hull = lower_hull(item);
  const auto at = std::ranges::find(hull, chosen);
  if (at == hull.end()) return;
  const auto step = [&](size_t a, size_t b) {
    return (p.options[a].loss - p.options[b].loss) /
           static_cast<double>(p.options[b].bytes - p.options[a].bytes);
  };
  if (at != hull.begin()) p.gain_per_byte = step(*(at - 1), chosen);
  if (at + 1 != hull.end()) p.next_gain_per_byte = step(chosen, *(at + 1));
}

Status solve_into(PlanResult& out) {
  std::vector<KnapsackItem> items;
  std::vector<size_t> index;
  uint64_t fixed = 0, min_items = 0;
  for (size_t i = 0; i < out.tensors.size(); ++i) {
    const PlanEntry& p = out.tensors[i];
    if (p.status != PlanStatus::kPlanned) {
      fixed += p.bytes;
      continue;
    }
    KnapsackItem item;
    for (const PlanOption& o : p.options) item.options.push_back({o.bytes, o.loss});
    min_items += std::ranges::min_element(item.options, {}, &KnapsackOption::bytes)->bytes;
    items.push_back(std::move(item));
    index.push_back(i);
  }
  out.min_bytes = fixed + min_items;
  const auto bpw = [&](uint64_t bytes) {
    return 8.0 * static_cast<double>(bytes) / static_cast<double>(out.n_elements);
  };
  if (out.budget_bytes < out.min_bytes)
    return make_error(ErrorCode::kOutOfRange,
                      "budget infeasible: {} ({:.4f} bpw) is below the smallest size these "
                      "candidates and constraints allow, {} ({:.4f} bpw)",
                      format_bytes(out.budget_bytes), bpw(out.budget_bytes),
                      format_bytes(out.min_bytes), bpw(out.min_bytes));
  QMIX_TRY_ASSIGN(const KnapsackSolution sol, solve_knapsack(items, out.budget_bytes - fixed));
  out.lambda = sol.lambda;
  for (size_t k = 0; k < index.size(); ++k) {
    PlanEntry& p = out.tensors[index[k]];
    const PlanOption& o = p.options[sol.choice[k]];
    p.type = o.type;
    p.bytes = o.bytes;
    p.loss = o.loss;
    set_gains(p, sol.choice[k]);
  }
  return ok_status();
}

uint64_t base_bytes_of(const PlanEntry& p) {
  for (const PlanOption& o : p.options)
    if (o.type == p.base_type) return o.bytes;
  return p.bytes;
}

void summarise(PlanResult& out) {
  for (PlanEntry& p : out.tensors) {
    if (p.status == PlanStatus::kFixedByRule && !p.options.empty())
      p.loss = p.base_loss = p.options.front().loss;
    out.bytes += p.bytes;
    out.base_bytes += base_bytes_of(p);
    out.predicted_loss += p.loss;
    if (std::isfinite(p.base_loss)) out.base_predicted_loss += p.base_loss;
  }
  const double n = static_cast<double>(out.n_elements);
  out.bpw = 8.0 * static_cast<double>(out.bytes) / n;
  out.base_bpw = 8.0 * static_cast<double>(out.base_bytes) / n;
}

}  // namespace

int layer_zone(int block, int n_blocks, int zones) {
  if (zones <= 1 || block < 0 || n_blocks <= 1) return 0;
  const int last = n_blocks - 1;
  if (zones == 2) return block == 0 || block == last ? 0 : 1;
  if (block == 0) return 0;
  if (block == last) return zones - 1;
  // Blocks 1 … last − 1 split evenly over zones 1 … zones − 2.
  const int middle = zones - 2;
  return 1 + (block - 1) * middle / std::max(1, last - 1);
}

Expected<PlanResult> plan_recipe(const PlanRequest& req) {
  Inputs in;
  QMIX_TRY(read_inputs(req, in));
  RecipePlan rp;
  plan_detail::BaseTypes base;
  QMIX_TRY_ASSIGN(base.with_imatrix,
                  recipe_types(in.recipe, in.model, *in.preset, ImatrixUse::kWith, &rp));
  QMIX_TRY_ASSIGN(base.without_imatrix,
                  recipe_types(in.recipe, in.model, *in.preset, ImatrixUse::kWithout));
  const std::vector<GgmlType> candidates =
      req.candidates.empty() ? default_plan_candidates() : req.candidates;
  PlanResult out;
  out.base_preset = std::string(in.preset->name);
  out.quantize_imatrix =
      (req.quantize_imatrix.empty() ? req.imatrices.front().path : req.quantize_imatrix).string();
  out.tensors = classify(in, rp, base.with_imatrix, candidates);
  for (const PlanEntry& p : out.tensors) out.n_elements += p.n_elements;
  QMIX_TRY_ASSIGN(out.budget_bytes, budget_bytes(req.budget, in.file, out.n_elements));
  ThreadPool pool(req.threads);
  QMIX_TRY_ASSIGN(const auto sens, measure(in, req, out.tensors, pool));
  for (const TensorSensitivity& s : sens)
    if (!s.name.empty()) ++(s.from_cache ? out.cached_tensors : out.measured_tensors);
  set_scale_groups(out.tensors, req);
  QMIX_TRY_ASSIGN(out.scales, role_scales(in.model, out.tensors, sens, req));
  fill_losses(out.tensors, sens, out.scales, req.loss);
  QMIX_TRY(solve_into(out));
  summarise(out);
  out.recipe = in.recipe;
  QMIX_TRY(plan_detail::write_plan_rules(out, in.model, *in.preset, base, req));
  return out;
}

}  // namespace qmix
