// Views of a model's weight tensors as they lie in the (memory-mapped) GGUF file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_model.h"
#include "model/hparams.h"
#include "model/tensor_roles.h"
#include "quant/types.h"

namespace qmix {

struct WeightRef {
  std::string name;
  const QuantType* type = nullptr;
  const std::byte* data = nullptr;
  int64_t cols = 0;     // input features (GGUF shape[0])
  int64_t rows = 0;     // output features (shape[1])
  int64_t experts = 1;  // shape[2] for stacked MoE experts
  uint64_t row_bytes = 0;

  bool present() const { return data != nullptr; }
  const std::byte* row(int64_t expert, int64_t r) const {
    return data + (static_cast<uint64_t>(expert) * static_cast<uint64_t>(rows) +
                   static_cast<uint64_t>(r)) *
                      row_bytes;
  }
};

struct LayerWeights {
  WeightRef attn_norm, attn_q, attn_k, attn_v, attn_output, attn_q_norm, attn_k_norm;
  WeightRef attn_qkv, attn_gate, post_attn_norm;  // hybrid
  WeightRef ffn_norm, ffn_gate, ffn_up, ffn_down;
  WeightRef ffn_gate_inp, ffn_gate_exps, ffn_up_exps, ffn_down_exps;
  WeightRef ssm_conv1d, ssm_a, ssm_dt, ssm_alpha, ssm_beta, ssm_norm, ssm_out;
};

struct ModelWeights {
  WeightRef token_embd, output_norm, output;  // output falls back to token_embd when tied
  std::vector<LayerWeights> layers;
};

// Finds every tensor by role; checks shapes against the hyper-parameters.
Expected<ModelWeights> load_weights(const GgufModel& model, const HParams& hp);

// Dequantizes one row (of one expert) into out[cols].
void dequantize_row(const WeightRef& w, int64_t expert, int64_t r, float* out);

}  // namespace qmix
