#include "convert/tensor_plan.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

namespace qmix {
namespace {

// A checkpoint-name pattern compiled once: literal pieces separated by "{bid}"/"{xid}".
class NamePattern {
 public:
  enum class Capture { kBlock, kExpert };
  struct Match {
    int64_t block = -1;
    int64_t expert = -1;
  };

  explicit NamePattern(std::string_view pattern) {
    std::string literal;
    while (!pattern.empty()) {
      const bool bid = pattern.starts_with("{bid}");
      if (bid || pattern.starts_with("{xid}")) {
        literals_.push_back(std::exchange(literal, {}));
        captures_.push_back(bid ? Capture::kBlock : Capture::kExpert);
        pattern.remove_prefix(5);
      } else {
        literal += pattern.front();
        pattern.remove_prefix(1);
      }
    }
    literals_.push_back(literal);
  }

  bool stacked() const {
    return std::find(captures_.begin(), captures_.end(), Capture::kExpert) != captures_.end();
  }

  std::optional<Match> match(std::string_view name) const {
    Match m;
    for (size_t i = 0; i < literals_.size(); ++i) {
      if (!name.starts_with(literals_[i])) return std::nullopt;
      name.remove_prefix(literals_[i].size());
      if (i == captures_.size()) break;
      size_t digits = 0;
      int64_t value = 0;
      while (digits < name.size() && digits < 9 && name[digits] >= '0' && name[digits] <= '9')
        value = value * 10 + (name[digits++] - '0');
      if (digits == 0) return std::nullopt;
      (captures_[i] == Capture::kBlock ? m.block : m.expert) = value;
      name.remove_prefix(digits);
    }
    if (!name.empty()) return std::nullopt;
    return m;
  }

 private:
  std::vector<std::string> literals_;
  std::vector<Capture> captures_;
};

struct CompiledRule {
  NamePattern pattern;
  const TensorRule* rule;
};

// Head counts the layout transforms need, read once from config.json.
struct LayoutParams {
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t linear_k_heads = 0;
  int64_t linear_v_heads = 0;
  int64_t linear_k_dim = 0;
  int64_t experts = 0;
};

Expected<LayoutParams> read_layout_params(const HfConfig& c) {
  LayoutParams p;
  QMIX_TRY_ASSIGN(const auto heads, c.get_int({"num_attention_heads", "n_head", "n_heads"}));
  QMIX_TRY_ASSIGN(const auto kv_heads, c.get_int({"num_key_value_heads", "n_kv_heads"}));
  QMIX_TRY_ASSIGN(const auto k_heads, c.get_int({"linear_num_key_heads"}));
  QMIX_TRY_ASSIGN(const auto v_heads, c.get_int({"linear_num_value_heads"}));
  QMIX_TRY_ASSIGN(const auto k_dim, c.get_int({"linear_key_head_dim"}));
  QMIX_TRY_ASSIGN(const auto experts, c.get_int({"num_local_experts", "num_experts"}));
  p.heads = heads.value_or(0);
  p.kv_heads = kv_heads.value_or(p.heads);
  p.linear_k_heads = k_heads.value_or(0);
  p.linear_v_heads = v_heads.value_or(0);
  p.linear_k_dim = k_dim.value_or(0);
  p.experts = experts.value_or(0);
  // Expert slots are allocated up front: refuse counts no checkpoint has.
  constexpr int64_t kMaxExperts = 1 << 16;
  if (p.experts < 0 || p.experts > kMaxExperts)
    return make_error(ErrorCode::kInvalidArgument, "config.json: {} experts is out of range",
                      p.experts);
  return p;
}

std::vector<int64_t> compose(const std::vector<int64_t>& earlier, std::vector<int64_t> later) {
  if (earlier.empty()) return later;
  for (auto& v : later) v = earlier[static_cast<size_t>(v)];
  return later;
}

Status check_heads(const PlannedTensor& t, int64_t count, int64_t offset, int64_t heads,
                   int64_t group) {
  if (heads > 0 && count >= offset && (count - offset) % (heads * group) == 0) return ok_status();
  return make_error(ErrorCode::kInvalidArgument,
                    "tensor '{}': {} rows/columns do not split into {} heads (config.json)", t.name,
                    count - offset, heads);
}

Status apply_vhead(PlannedTensor& t, Transform tr, const LayoutParams& p) {
  const int64_t k = p.linear_k_heads, v = p.linear_v_heads;
  if (k <= 0 || v <= 0 || k == v) return ok_status();  // nothing to reorder
  if (v % k != 0)
    return make_error(ErrorCode::kInvalidArgument,
                      "config.json: linear_num_value_heads {} is not a multiple of "
                      "linear_num_key_heads {}",
                      v, k);
  if (tr == Transform::kVHeadCols) {
    QMIX_TRY(check_heads(t, t.cols, 0, v, 1));
    t.col_map = compose(t.col_map, vhead_map(t.cols, 0, k, v));
    return ok_status();
  }
  const int64_t offset = tr == Transform::kVHeadRowsAfterQK ? 2 * k * p.linear_k_dim : 0;
  QMIX_TRY(check_heads(t, t.rows, offset, v, 1));
  t.row_map = compose(t.row_map, vhead_map(t.rows, offset, k, v));
  return ok_status();
}

Status apply_transform(PlannedTensor& t, Transform tr, const LayoutParams& p) {
  switch (tr) {
    case Transform::kRopeQ:
    case Transform::kRopeK: {
      const int64_t heads = tr == Transform::kRopeQ ? p.heads : p.kv_heads;
      QMIX_TRY(check_heads(t, t.rows, 0, heads, 2));
      t.row_map = compose(t.row_map, rope_row_map(t.rows, heads));
      return ok_status();
    }
    case Transform::kCenteredNorm:
      t.op = ElementOp::kAddOne;
      return ok_status();
    case Transform::kNegExp:
      t.op = ElementOp::kNegExp;
      return ok_status();
    case Transform::kVHeadRows:
    case Transform::kVHeadRowsAfterQK:
    case Transform::kVHeadCols:
      return apply_vhead(t, tr, p);
    case Transform::kNone:
    case Transform::kSqueeze:  // applied to the shape before the row view is formed
      return ok_status();
  }
  return ok_status();
}

bool enabled(const ArchSpec& spec, const TensorRule& rule, Transform tr) {
  return (spec.transforms & transform_bit(tr)) != 0 &&
         std::find(rule.transforms.begin(), rule.transforms.end(), tr) != rule.transforms.end();
}

std::string gguf_name(const TensorRule& rule, int64_t block) {
  std::string name = block >= 0 ? fmt::format("blk.{}.{}", block, role_info(rule.role).name)
                                : std::string(role_info(rule.role).name);
  if (!rule.suffix.empty()) {
    name += '.';
    name += rule.suffix;
  }
  return name;
}

struct PlanContext {
  const ArchSpec& spec;
  const LayoutParams& params;
  GgmlType weight_type;
};

// Shape (outermost first) of the sources stacked, after the optional squeeze.
Expected<std::vector<int64_t>> stacked_shape(const std::vector<HfTensorRef>& sources,
                                             const std::string& name, bool stacked, bool squeeze) {
  const auto& first = sources.front().tensor->shape;
  for (const auto& s : sources)
    if (s.tensor->shape != first)
      return make_error(ErrorCode::kInvalidArgument,
                        "tensor '{}': experts have different shapes ('{}' vs '{}')", name,
                        sources.front().tensor->name, s.tensor->name);
  std::vector<int64_t> shape;
  if (stacked) shape.push_back(static_cast<int64_t>(sources.size()));
  for (int64_t d : first)
    if (!squeeze || d != 1) shape.push_back(d);
  if (shape.empty()) shape.push_back(1);
  return shape;
}

Expected<PlannedTensor> plan_one(const PlanContext& ctx, const CompiledRule& compiled,
                                 int64_t block, std::vector<HfTensorRef> sources) {
  const TensorRule& rule = *compiled.rule;
  PlannedTensor t;
  t.name = gguf_name(rule, block);
  t.role = rule.role;
  QMIX_TRY_ASSIGN(const auto shape, stacked_shape(sources, t.name, compiled.pattern.stacked(),
                                                  enabled(ctx.spec, rule, Transform::kSqueeze)));
  t.sources = std::move(sources);
  t.shape.assign(shape.rbegin(), shape.rend());
  t.rows = shape[0];
  t.cols = 1;
  for (size_t i = 1; i < shape.size(); ++i) t.cols *= shape[i];
  for (Transform tr : rule.transforms)
    if (tr != Transform::kNone && enabled(ctx.spec, rule, tr))
      QMIX_TRY(apply_transform(t, tr, ctx.params));
  t.type = planned_tensor_type(t.role, rule.suffix, shape.size(), t.shape[0], ctx.weight_type);
  return t;
}

bool is_ignored(const ArchSpec& spec, std::string_view name) {
  for (auto suffix : ignored_tensor_suffixes())
    if (name.ends_with(suffix)) return true;
  for (auto prefix : spec.ignored_prefixes)
    if (name.starts_with(prefix)) return true;
  return false;
}

// Collects the experts of each block until all of them (every stacked rule × every expert)
// have been seen, then emits the block's stacked tensors in rule order, as llama.cpp does.
class ExpertStacker {
 public:
  ExpertStacker(const std::vector<CompiledRule>& rules, int64_t experts)
      : experts_(experts),
        stacked_rules_(std::count_if(rules.begin(), rules.end(),
                                     [](const auto& r) { return r.pattern.stacked(); })) {}

  // Returns the rules of a block that became complete (empty while still collecting).
  Expected<std::vector<std::pair<const CompiledRule*, std::vector<HfTensorRef>>>> add(
      const CompiledRule* rule, int64_t block, int64_t expert, const HfTensorRef& ref) {
    if (experts_ <= 0 || expert >= experts_)
      return make_error(ErrorCode::kInvalidArgument,
                        "tensor '{}': expert {} but config.json declares {} experts",
                        ref.tensor->name, expert, experts_);
    auto& slots = pending_[block][rule];
    slots.resize(static_cast<size_t>(experts_));
    if (slots[static_cast<size_t>(expert)].tensor != nullptr)
      return make_error(ErrorCode::kCorrupt, "tensor '{}' appears twice", ref.tensor->name);
    slots[static_cast<size_t>(expert)] = ref;
    std::vector<std::pair<const CompiledRule*, std::vector<HfTensorRef>>> done;
    if (++counts_[block] < experts_ * stacked_rules_) return done;
    // Compiled rules live in one vector in table order: the order llama.cpp emits them in.
    for (auto& [r, refs] : pending_[block]) done.emplace_back(r, std::move(refs));
    pending_.erase(block);
    counts_.erase(block);
    return done;
  }

  Status check_complete() const {
    if (pending_.empty()) return ok_status();
    return make_error(ErrorCode::kNotFound, "layer {}: only {} of {} expert tensors present",
                      pending_.begin()->first, counts_.at(pending_.begin()->first),
                      experts_ * stacked_rules_);
  }

 private:
  int64_t experts_;
  int64_t stacked_rules_;
  std::map<int64_t, std::map<const CompiledRule*, std::vector<HfTensorRef>>> pending_;
  std::map<int64_t, int64_t> counts_;
};

std::vector<CompiledRule> compile_rules(const ArchSpec& spec) {
  std::vector<CompiledRule> rules;
  for (const auto& table : spec.tensor_rules)
    for (const auto& rule : table) rules.push_back({NamePattern(rule.hf_pattern), &rule});
  return rules;
}

}  // namespace

GgmlType planned_tensor_type(Role role, std::string_view suffix, size_t n_dims, int64_t row_length,
                             GgmlType requested) {
  // llama.cpp recognises norms by their GGUF name ending in "_norm.weight".
  const bool norm = role_info(role).name.ends_with("_norm");
  constexpr Role kAlwaysF32[] = {Role::kFfnGateInp, Role::kFfnGateInpShexp, Role::kSsmConv1d};
  const bool f32_role =
      std::find(std::begin(kAlwaysF32), std::end(kAlwaysF32), role) != std::end(kAlwaysF32);
  if (n_dims <= 1 || norm || f32_role || suffix != "weight") return GgmlType::F32;
  const QuantType& q = quant_type(requested);
  if (!q.row_bytes(row_length)) return GgmlType::F16;
  return requested;
}

Expected<std::vector<PlannedTensor>> plan_tensors(const HfCheckpoint& checkpoint,
                                                  const ArchSpec& spec, GgmlType weight_type) {
  QMIX_TRY_ASSIGN(const LayoutParams params, read_layout_params(checkpoint.config()));
  const std::vector<CompiledRule> rules = compile_rules(spec);
  const PlanContext ctx{spec, params, weight_type};
  ExpertStacker stacker(rules, params.experts);
  std::vector<PlannedTensor> plan;
  for (const HfTensorRef& ref : checkpoint.tensors()) {
    const std::string& name = ref.tensor->name;
    if (is_ignored(spec, name)) continue;
    const CompiledRule* hit = nullptr;
    NamePattern::Match m;
    for (const auto& r : rules)
      if (auto mm = r.pattern.match(name)) {
        hit = &r;
        m = *mm;
        break;
      }
    if (hit == nullptr)
      return make_error(ErrorCode::kUnsupported, "{}: tensor '{}' has no GGUF counterpart in {}",
                        ref.file->name(), name, spec.gguf_arch);
    std::vector<std::pair<const CompiledRule*, std::vector<HfTensorRef>>> ready;
    if (hit->pattern.stacked()) {
      QMIX_TRY_ASSIGN(ready, stacker.add(hit, m.block, m.expert, ref));
    } else {
      ready.emplace_back(hit, std::vector<HfTensorRef>{ref});
    }
    for (auto& [rule, sources] : ready) {
      QMIX_TRY_ASSIGN(PlannedTensor t, plan_one(ctx, *rule, m.block, std::move(sources)));
      plan.push_back(std::move(t));
    }
  }
  QMIX_TRY(stacker.check_complete());
  return plan;
}

std::vector<int64_t> rope_row_map(int64_t rows, int64_t heads) {
  // Per head, HF keeps the two halves of each rotated pair apart ([x0..x{h/2-1}, y0..]) and
  // llama.cpp wants them adjacent ([x0, y0, x1, y1, …]): output (h, i, j) ← input (h, j, i).
  std::vector<int64_t> map(static_cast<size_t>(rows));
  const int64_t head_rows = rows / heads, half = head_rows / 2;
  for (int64_t o = 0; o < rows; ++o) {
    const int64_t h = o / head_rows, w = o % head_rows;
    map[static_cast<size_t>(o)] = h * head_rows + (w % 2) * half + w / 2;
  }
  return map;
}

std::vector<int64_t> vhead_map(int64_t count, int64_t offset, int64_t k_heads, int64_t v_heads) {
  // HF groups value heads by their key head ([k0v0, k0v1, k1v0, k1v1]); ggml's broadcast wants
  // them tiled ([k0v0, k1v0, k0v1, k1v1]): output (b, a, d) ← input (a, b, d).
  std::vector<int64_t> map(static_cast<size_t>(count));
  for (int64_t o = 0; o < offset; ++o) map[static_cast<size_t>(o)] = o;
  const int64_t head = (count - offset) / v_heads, per_k = v_heads / k_heads;
  for (int64_t o = 0; o < count - offset; ++o) {
    const int64_t d = o % head, slot = o / head;
    const int64_t b = slot / k_heads, a = slot % k_heads;
    map[static_cast<size_t>(offset + o)] = offset + (a * per_k + b) * head + d;
  }
  return map;
}

}  // namespace qmix
