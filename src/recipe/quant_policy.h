// llama.cpp's per-tensor type policy (llama-quantize's mixes), as data: which tensors are
// quantized at all, the type each preset gives a tensor from its role and position (the
// attn_v/ffn_down bumps, GQA/MoE adjustments, output and embedding types), the fallback when a
// row is not a multiple of the block size, and which choices need an imatrix. The rule tables
// live in quant_policy.cpp; this header is the evaluator's interface.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"
#include "model/tensor_roles.h"
#include "quant/types.h"
#include "recipe/presets.h"

namespace qmix {

// The broad groups llama.cpp's quantizer decides by (coarser than roles: attn_qkv counts as
// attn_v, expert and shared-expert FFNs as their dense counterparts).
enum class PolicyCategory : uint8_t {
  kTokenEmbd,
  kOutput,
  kAttnQ,
  kAttnK,
  kAttnV,  // attn_v and fused attn_qkv
  kAttnOutput,
  kFfnUp,
  kFfnGate,
  kFfnDown,
  kOther,
};

PolicyCategory policy_category(const TensorName& name);

// A tensor as the policy sees it.
struct PolicyTensor {
  std::string_view name;
  TensorName parsed;
  PolicyCategory category = PolicyCategory::kOther;
  std::span<const int64_t> shape;  // ggml order: shape[0] is the row length
};
PolicyTensor make_policy_tensor(std::string_view name, std::span<const int64_t> shape);

// Model facts the rules read.
struct PolicyModel {
  std::string arch;  // general.architecture
  int64_t n_layer = 0;
  int64_t n_head = 0;  // of layer 0
  int64_t n_head_kv = 0;
  int64_t n_expert = 0;
  int64_t n_attn_v = 0;          // tensors of category kAttnV (the attn_v rules count through them)
  bool tied_embeddings = false;  // no output.weight: token_embd doubles as the output matrix
  bool has_imatrix = false;
};

enum class OutputTensorMode { kQuantize, kLeaveAsIs };  // --leave-output-tensor

// Whether llama-quantize would quantize this tensor at all (2-D+ weights, not norms, not the
// small routing/conv/positional tensors); others keep their type.
bool allows_quantization(const PolicyTensor& t, OutputTensorMode output_mode);

struct PolicyChoice {
  GgmlType type;
  std::string_view why;  // the rule that decided, in words
};

// One preset's mix over one model. llama.cpp's layer-position rules count the tensors of a
// category as they go by, so choose() must be called once per quantizable tensor, in
// llama.cpp's processing order (see plan_order in tensor_plan.h), and only for tensors that
// no manual rule decided. Not thread-safe.
class PresetPolicy {
 public:
  PresetPolicy(const Preset& preset, PolicyModel model);

  // The preset's type for `t` (before the block-size fallback). `output_type` is
  // --output-tensor-type, which tied embeddings take as well.
  Expected<PolicyChoice> choose(const PolicyTensor& t, std::optional<GgmlType> output_type);

  const Preset& preset() const { return preset_; }
  const PolicyModel& model() const { return model_; }

 private:
  struct Counters {
    int64_t attn_v = 0;
    int64_t ffn_down = 0;
    int64_t ffn_gate = 0;
    int64_t ffn_up = 0;
  };
  const Preset& preset_;
  PolicyModel model_;
  Counters counters_;
  friend struct PolicyEvaluation;
};

// The type to use when a row of `row_length` values does not fit `type`'s blocks (llama.cpp's
// fallback table, then F16). Returns `type` itself when it fits; an error when no fallback is
// defined for it.
Expected<PolicyChoice> block_fallback(GgmlType type, int64_t row_length);

// Whether quantizing `t` to `type` under `preset` needs an importance matrix (the very-low-bit
// types, and Q2_K inside Q2_K_S; never token_embd/output).
bool requires_imatrix(const PolicyTensor& t, GgmlType type, const Preset& preset);

}  // namespace qmix
