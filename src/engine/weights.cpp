#include "engine/weights.h"

#include <fmt/format.h>

namespace qmix {
namespace {

// Where each role's tensor goes in LayerWeights (data, not code paths).
struct LayerSlot {
  Role role;
  WeightRef LayerWeights::*slot;
};

constexpr LayerSlot kLayerSlots[] = {
    {Role::kAttnNorm, &LayerWeights::attn_norm},
    {Role::kAttnQ, &LayerWeights::attn_q},
    {Role::kAttnK, &LayerWeights::attn_k},
    {Role::kAttnV, &LayerWeights::attn_v},
    {Role::kAttnOutput, &LayerWeights::attn_output},
    {Role::kAttnQNorm, &LayerWeights::attn_q_norm},
    {Role::kAttnKNorm, &LayerWeights::attn_k_norm},
    {Role::kAttnQkv, &LayerWeights::attn_qkv},
    {Role::kAttnGate, &LayerWeights::attn_gate},
    {Role::kPostAttnNorm, &LayerWeights::post_attn_norm},
    {Role::kFfnNorm, &LayerWeights::ffn_norm},
    {Role::kFfnGate, &LayerWeights::ffn_gate},
    {Role::kFfnUp, &LayerWeights::ffn_up},
    {Role::kFfnDown, &LayerWeights::ffn_down},
    {Role::kFfnGateInp, &LayerWeights::ffn_gate_inp},
    {Role::kFfnGateExps, &LayerWeights::ffn_gate_exps},
    {Role::kFfnUpExps, &LayerWeights::ffn_up_exps},
    {Role::kFfnDownExps, &LayerWeights::ffn_down_exps},
    {Role::kSsmConv1d, &LayerWeights::ssm_conv1d},
    {Role::kSsmA, &LayerWeights::ssm_a},
    {Role::kSsmDt, &LayerWeights::ssm_dt},
    {Role::kSsmAlpha, &LayerWeights::ssm_alpha},
    {Role::kSsmBeta, &LayerWeights::ssm_beta},
    {Role::kSsmNorm, &LayerWeights::ssm_norm},
    {Role::kSsmOut, &LayerWeights::ssm_out},
};

Expected<WeightRef> make_ref(const GgufModel& model, const GgufTensorRef& t) {
  WeightRef w;
  w.name = t.info->name;
  w.type = &t.info->quant_type();
  w.data = model.tensor_data(t).data();
  w.cols = t.info->shape[0];
  w.rows = t.info->shape.size() > 1 ? t.info->shape[1] : 1;
  w.experts = t.info->shape.size() > 2 ? t.info->shape[2] : 1;
  if (t.info->shape.size() > 3)
    return make_error(ErrorCode::kUnsupported, "tensor '{}': 4-D weights are not supported",
                      w.name);
  if (active_kernels(*w.type).dequantize == nullptr)
    return make_error(ErrorCode::kUnsupported, "tensor '{}': type {} cannot be evaluated", w.name,
                      w.type->name);
  w.row_bytes = *w.type->row_bytes(w.cols);
  return w;
}

Status check_cols(const WeightRef& w, int64_t cols) {
  if (w.present() && w.cols != cols)
    return make_error(ErrorCode::kCorrupt, "tensor '{}': has {} input columns, expected {}", w.name,
                      w.cols, cols);
  return ok_status();
}

}  // namespace

Expected<ModelWeights> load_weights(const GgufModel& model, const HParams& hp) {
  ModelWeights mw;
  mw.layers.resize(static_cast<size_t>(hp.n_layer));
  for (const auto& t : model.tensors()) {
    const TensorName tn = parse_tensor_name(t.info->name);
    if (tn.suffix == "bias" && tn.role != Role::kSsmDt) continue;  // no biases in these archs
    QMIX_TRY_ASSIGN(WeightRef ref, make_ref(model, t));
    if (tn.block < 0) {
      if (tn.role == Role::kTokenEmbd) mw.token_embd = ref;
      if (tn.role == Role::kOutputNorm) mw.output_norm = ref;
      if (tn.role == Role::kOutput) mw.output = ref;
      continue;
    }
    if (tn.block >= hp.n_layer)
      return make_error(ErrorCode::kCorrupt, "tensor '{}': block {} beyond block_count {}",
                        t.info->name, tn.block, hp.n_layer);
    for (const auto& s : kLayerSlots)
      if (s.role == tn.role) mw.layers[static_cast<size_t>(tn.block)].*(s.slot) = ref;
  }
  if (!mw.token_embd.present() || !mw.output_norm.present())
    return make_error(ErrorCode::kCorrupt, "{}: missing token_embd or output_norm",
                      model.display_name());
  if (!mw.output.present()) mw.output = mw.token_embd;  // tied embeddings
  QMIX_TRY(check_cols(mw.token_embd, hp.n_embd));
  QMIX_TRY(check_cols(mw.output, hp.n_embd));
  for (const auto& l : mw.layers) {
    if (!l.attn_norm.present())
      return make_error(ErrorCode::kCorrupt, "{}: a layer lacks attn_norm", model.display_name());
    for (const WeightRef* w : {&l.attn_q, &l.attn_k, &l.attn_v, &l.ffn_gate, &l.ffn_up,
                               &l.ffn_gate_inp, &l.ffn_gate_exps, &l.ffn_up_exps})
      QMIX_TRY(check_cols(*w, hp.n_embd));
  }
  return mw;
}

void dequantize_row(const WeightRef& w, int64_t expert, int64_t r, float* out) {
  active_kernels(*w.type).dequantize(w.row(expert, r), out, w.cols);
}

}  // namespace qmix
