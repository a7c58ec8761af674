#include "convert/arch_table.h"

#include <cmath>

namespace qmix {
namespace {

using Json = nlohmann::ordered_json;
using T = Transform;
using R = Role;
using K = MetaKind;

// ---- derived metadata values -------------------------------------------------------------

Expected<std::vector<GgufKv>> rope_freq_base(const HfConfig& c) {
  const Json rope = c.rope_parameters();
  const auto it = rope.find("rope_theta");
  if (it == rope.end() || !it->is_number()) return std::vector<GgufKv>{};
  return std::vector<GgufKv>{{"rope.freq_base", GgufValue::f32(it->get<float>())}};
}

float rope_float(const Json& rope, const char* key, float fallback) {
  const auto it = rope.find(key);
  return it != rope.end() && it->is_number() ? it->get<float>() : fallback;
}

// Linear and YaRN scaling become keys; other kinds change the weights or need extra tensors
// (llama3 writes rope_freqs) and are refused rather than converted wrongly.
Expected<std::vector<GgufKv>> rope_scaling(const HfConfig& c) {
  const Json rope = c.rope_parameters();
  const auto type_it = rope.find("rope_type");
  const std::string type =
      type_it != rope.end() && type_it->is_string() ? type_it->get<std::string>() : "default";
  const auto factor_it = rope.find("factor");
  const bool has_factor = factor_it != rope.end() && factor_it->is_number();
  std::vector<GgufKv> kv;
  if (type == "default" || type == "none" || ((type == "linear" || type == "yarn") && !has_factor))
    return kv;
  if (type != "linear" && type != "yarn")
    return make_error(
        ErrorCode::kUnsupported,
        "config.json: rope scaling type '{}' is not supported (default, linear, yarn)", type);
  kv.push_back({"rope.scaling.type", GgufValue::string(type)});
  kv.push_back({"rope.scaling.factor", GgufValue::f32(factor_it->get<float>())});
  if (type == "linear") return kv;
  const auto orig = rope.find("original_max_position_embeddings");
  if (orig == rope.end() || !orig->is_number_unsigned())
    return make_error(ErrorCode::kInvalidArgument,
                      "config.json: yarn rope scaling without original_max_position_embeddings");
  kv.push_back({"rope.scaling.original_context_length",
                GgufValue::u32(static_cast<uint32_t>(orig->get<uint64_t>()))});
  const std::pair<const char*, const char*> optional[] = {
      {"extrapolation_factor", "rope.scaling.yarn_ext_factor"},
      {"attention_factor", "rope.scaling.yarn_attn_factor"},
      {"beta_fast", "rope.scaling.yarn_beta_fast"},
      {"beta_slow", "rope.scaling.yarn_beta_slow"}};
  for (const auto& [hf, gguf] : optional)
    if (rope.contains(hf)) kv.push_back({gguf, GgufValue::f32(rope_float(rope, hf, 0.0f))});
  return kv;
}

Expected<int64_t> head_dim(const HfConfig& c) {
  QMIX_TRY_ASSIGN(const auto explicit_dim, c.get_int({"head_dim"}));
  if (explicit_dim) return *explicit_dim;
  QMIX_TRY_ASSIGN(const int64_t hidden, c.require_int({"hidden_size"}));
  QMIX_TRY_ASSIGN(const int64_t heads, c.require_int({"num_attention_heads"}));
  if (heads <= 0) return make_error(ErrorCode::kInvalidArgument, "config.json: no attention heads");
  return hidden / heads;
}

Expected<std::vector<GgufKv>> full_rope_dims(const HfConfig& c) {
  QMIX_TRY_ASSIGN(const int64_t dim, head_dim(c));
  return std::vector<GgufKv>{{"rope.dimension_count", GgufValue::u32(static_cast<uint32_t>(dim))}};
}

// Qwen3.5 rotates only a fraction of each head (partial_rotary_factor, 0.25 by default).
Expected<std::vector<GgufKv>> partial_rope_dims(const HfConfig& c) {
  QMIX_TRY_ASSIGN(const int64_t dim, head_dim(c));
  QMIX_TRY_ASSIGN(auto factor, c.get_float({"partial_rotary_factor"}));
  if (!factor) factor = rope_float(c.rope_parameters(), "partial_rotary_factor", 0.25f);
  const auto rotated = static_cast<uint32_t>(static_cast<double>(dim) * *factor);
  return std::vector<GgufKv>{{"rope.dimension_count", GgufValue::u32(rotated)}};
}

Expected<std::vector<GgufKv>> ssm_inner_size(const HfConfig& c) {
  QMIX_TRY_ASSIGN(const int64_t head, c.require_int({"linear_value_head_dim"}));
  QMIX_TRY_ASSIGN(const int64_t heads, c.require_int({"linear_num_value_heads"}));
  return std::vector<GgufKv>{
      {"ssm.inner_size", GgufValue::u32(static_cast<uint32_t>(head * heads))}};
}

Expected<std::vector<GgufKv>> full_attention_interval(const HfConfig& c) {
  QMIX_TRY_ASSIGN(const auto interval, c.get_int({"full_attention_interval"}));
  return std::vector<GgufKv>{
      {"full_attention_interval", GgufValue::u32(static_cast<uint32_t>(interval.value_or(4)))}};
}

// Interleaved M-RoPE sections, padded to 4; Qwen3.5's default when the config has none.
Expected<std::vector<GgufKv>> mrope_sections(const HfConfig& c) {
  const Json rope = c.rope_parameters();
  std::vector<int32_t> sections = {11, 11, 10, 0};
  if (const auto it = rope.find("mrope_section"); it != rope.end() && it->is_array()) {
    sections.clear();
    for (const auto& v : *it) {
      if (!v.is_number_integer())
        return make_error(ErrorCode::kInvalidArgument, "config.json: mrope_section not integers");
      sections.push_back(v.get<int32_t>());
    }
    sections.resize(std::max<size_t>(sections.size(), 4), 0);
    sections.resize(4);
  }
  return std::vector<GgufKv>{{"rope.dimension_sections", GgufValue::array_i32(sections)}};
}

// ---- metadata key tables -----------------------------------------------------------------

constexpr MetaRule kTextModelKeys[] = {
    {"block_count",
     K::kU32,
     {"num_hidden_layers", "n_layers", "n_layer", "num_layers"},
     Need::kRequired},
    {"context_length",
     K::kU32,
     {"max_position_embeddings", "n_ctx", "n_positions", "max_length", "max_sequence_length",
      "model_max_length"}},
    {"embedding_length", K::kU32, {"hidden_size", "n_embd", "dim"}, Need::kRequired},
    {"feed_forward_length", K::kU32, {"intermediate_size", "n_inner", "hidden_dim"}},
    {"attention.head_count",
     K::kU32,
     {"num_attention_heads", "n_head", "n_heads"},
     Need::kRequired},
    {"attention.head_count_kv", K::kU32, {"num_key_value_heads", "n_kv_heads"}},
    {"", K::kU32, {}, Need::kOptional, rope_scaling},
    {"", K::kF32, {}, Need::kOptional, rope_freq_base},
    {"attention.layer_norm_rms_epsilon", K::kF32, {"rms_norm_eps", "norm_eps"}},
    {"attention.layer_norm_epsilon",
     K::kF32,
     {"layer_norm_eps", "layer_norm_epsilon", "norm_epsilon"}},
    {"expert_count", K::kU32, {"num_local_experts", "num_experts"}},
    {"expert_used_count",
     K::kU32,
     {"num_experts_per_tok", "num_experts_per_token", "top_k_experts"}},
    {"attention.key_length", K::kU32, {"head_dim"}},
    {"attention.value_length", K::kU32, {"head_dim"}},
};

constexpr MetaRule kLlamaKeys[] = {
    {"vocab_size", K::kU32, {"vocab_size"}, Need::kRequired},
    {"", K::kU32, {}, Need::kOptional, full_rope_dims},
};

constexpr MetaRule kMoeKeys[] = {
    {"expert_feed_forward_length", K::kU32, {"moe_intermediate_size"}},
    {"expert_shared_feed_forward_length", K::kU32, {"shared_expert_intermediate_size"}},
};

constexpr MetaRule kQwen35Keys[] = {
    {"expert_feed_forward_length", K::kU32, {"moe_intermediate_size"}},
    {"expert_shared_feed_forward_length", K::kU32, {"shared_expert_intermediate_size"}},
    {"ssm.conv_kernel", K::kU32, {"linear_conv_kernel_dim"}, Need::kRequired},
    {"ssm.state_size", K::kU32, {"linear_key_head_dim"}, Need::kRequired},
    {"ssm.group_count", K::kU32, {"linear_num_key_heads"}, Need::kRequired},
    {"ssm.time_step_rank", K::kU32, {"linear_num_value_heads"}, Need::kRequired},
    {"", K::kU32, {}, Need::kOptional, ssm_inner_size},
    {"", K::kU32, {}, Need::kOptional, full_attention_interval},
    {"", K::kU32, {}, Need::kOptional, partial_rope_dims},
};

// The reference GGUF got rope.dimension_sections after conversion, so it follows the
// tokenizer block there; writing it in the same place keeps the files identical.
constexpr MetaRule kQwen35TrailingKeys[] = {
    {"", K::kU32, {}, Need::kOptional, mrope_sections},
};

// ---- tensor tables -----------------------------------------------------------------------

constexpr TensorRule kDecoderTensors[] = {
    {"model.embed_tokens.weight", R::kTokenEmbd, "weight"},
    {"lm_head.weight", R::kOutput, "weight"},
    {"model.norm.weight", R::kOutputNorm, "weight", {T::kCenteredNorm}},
    {"model.layers.{bid}.input_layernorm.weight", R::kAttnNorm, "weight", {T::kCenteredNorm}},
    {"model.layers.{bid}.self_attn.q_proj.weight", R::kAttnQ, "weight", {T::kRopeQ}},
    {"model.layers.{bid}.self_attn.q_proj.bias", R::kAttnQ, "bias", {T::kRopeQ}},
    {"model.layers.{bid}.self_attn.k_proj.weight", R::kAttnK, "weight", {T::kRopeK}},
    {"model.layers.{bid}.self_attn.k_proj.bias", R::kAttnK, "bias", {T::kRopeK}},
    {"model.layers.{bid}.self_attn.v_proj.weight", R::kAttnV, "weight"},
    {"model.layers.{bid}.self_attn.v_proj.bias", R::kAttnV, "bias"},
    {"model.layers.{bid}.self_attn.o_proj.weight", R::kAttnOutput, "weight"},
    {"model.layers.{bid}.self_attn.q_norm.weight", R::kAttnQNorm, "weight", {T::kCenteredNorm}},
    {"model.layers.{bid}.self_attn.k_norm.weight", R::kAttnKNorm, "weight", {T::kCenteredNorm}},
};

constexpr TensorRule kDenseFfnTensors[] = {
    {"model.layers.{bid}.mlp.gate_proj.weight", R::kFfnGate, "weight"},
    {"model.layers.{bid}.mlp.up_proj.weight", R::kFfnUp, "weight"},
    {"model.layers.{bid}.mlp.down_proj.weight", R::kFfnDown, "weight"},
};

constexpr TensorRule kFfnNormTensors[] = {
    {"model.layers.{bid}.post_attention_layernorm.weight", R::kFfnNorm, "weight"},
};

// Expert rules are listed in the order llama.cpp emits the stacked tensors (down, gate, up).
constexpr TensorRule kMoeTensors[] = {
    {"model.layers.{bid}.mlp.gate.weight", R::kFfnGateInp, "weight"},
    {"model.layers.{bid}.mlp.experts.{xid}.down_proj.weight", R::kFfnDownExps, "weight"},
    {"model.layers.{bid}.mlp.experts.{xid}.gate_proj.weight", R::kFfnGateExps, "weight"},
    {"model.layers.{bid}.mlp.experts.{xid}.up_proj.weight", R::kFfnUpExps, "weight"},
    {"model.layers.{bid}.mlp.shared_expert.gate_proj.weight", R::kFfnGateShexp, "weight"},
    {"model.layers.{bid}.mlp.shared_expert.up_proj.weight", R::kFfnUpShexp, "weight"},
    {"model.layers.{bid}.mlp.shared_expert.down_proj.weight", R::kFfnDownShexp, "weight"},
    {"model.layers.{bid}.mlp.shared_expert_gate.weight", R::kFfnGateInpShexp, "weight"},
};

// Qwen3.5 linear-attention (gated delta net) layers. Its RMSNorm weights are stored centered
// (w + 1) except the delta net's own output norm, which llama.cpp copies as is.
constexpr TensorRule kQwen35Tensors[] = {
    {"model.layers.{bid}.post_attention_layernorm.weight",
     R::kPostAttnNorm,
     "weight",
     {T::kCenteredNorm}},
    {"model.layers.{bid}.linear_attn.A_log", R::kSsmA, "", {T::kNegExp, T::kVHeadRows}},
    {"model.layers.{bid}.linear_attn.dt_bias", R::kSsmDt, "bias", {T::kVHeadRows}},
    {"model.layers.{bid}.linear_attn.conv1d.weight",
     R::kSsmConv1d,
     "weight",
     {T::kSqueeze, T::kVHeadRowsAfterQK}},
    {"model.layers.{bid}.linear_attn.in_proj_qkv.weight",
     R::kAttnQkv,
     "weight",
     {T::kVHeadRowsAfterQK}},
    {"model.layers.{bid}.linear_attn.in_proj_z.weight", R::kAttnGate, "weight", {T::kVHeadRows}},
    {"model.layers.{bid}.linear_attn.in_proj_a.weight", R::kSsmAlpha, "weight", {T::kVHeadRows}},
    {"model.layers.{bid}.linear_attn.in_proj_b.weight", R::kSsmBeta, "weight", {T::kVHeadRows}},
    {"model.layers.{bid}.linear_attn.norm.weight", R::kSsmNorm, "weight"},
    {"model.layers.{bid}.linear_attn.out_proj.weight", R::kSsmOut, "weight", {T::kVHeadCols}},
};

constexpr std::string_view kQwen35Ignored[] = {"mtp.", "model.mtp."};  // multi-token prediction
constexpr std::string_view kIgnoredSuffixes[] = {".attention.masked_bias", ".attention.bias",
                                                 ".rotary_emb.inv_freq"};

constexpr TransformMask kLlamaTransforms = transform_bit(T::kRopeQ) | transform_bit(T::kRopeK);
constexpr TransformMask kQwen35Transforms =
    transform_bit(T::kCenteredNorm) | transform_bit(T::kNegExp) | transform_bit(T::kVHeadRows) |
    transform_bit(T::kVHeadRowsAfterQK) | transform_bit(T::kVHeadCols) | transform_bit(T::kSqueeze);

const ArchSpec kArchSpecs[] = {
    {"LlamaForCausalLM",
     "llama",
     kLlamaKeys,
     {},
     {kDecoderTensors, kDenseFfnTensors, kFfnNormTensors, {}},
     kLlamaTransforms,
     {}},
    {"Qwen3ForCausalLM",
     "qwen3",
     {},
     {},
     {kDecoderTensors, kDenseFfnTensors, kFfnNormTensors, {}},
     0,
     {}},
    {"Qwen3MoeForCausalLM",
     "qwen3moe",
     kMoeKeys,
     {},
     {kDecoderTensors, kDenseFfnTensors, kFfnNormTensors, kMoeTensors},
     0,
     {}},
    {"Qwen3_5ForCausalLM",
     "qwen35",
     kQwen35Keys,
     kQwen35TrailingKeys,
     {kDecoderTensors, kDenseFfnTensors, kQwen35Tensors, {}},
     kQwen35Transforms,
     kQwen35Ignored},
};

}  // namespace

std::span<const MetaRule> text_model_keys() { return kTextModelKeys; }
std::span<const std::string_view> ignored_tensor_suffixes() { return kIgnoredSuffixes; }
std::span<const ArchSpec> all_arch_specs() { return kArchSpecs; }

Expected<const ArchSpec*> arch_spec_for_class(std::string_view hf_class) {
  for (const auto& spec : kArchSpecs)
    if (spec.hf_class == hf_class) return &spec;
  return make_error(ErrorCode::kUnsupported, "unsupported architecture '{}' (supported: {})",
                    hf_class, supported_hf_classes());
}

std::string supported_hf_classes() {
  std::string out;
  for (const auto& spec : kArchSpecs) {
    if (!out.empty()) out += ", ";
    out += spec.hf_class;
  }
  return out;
}

}  // namespace qmix
