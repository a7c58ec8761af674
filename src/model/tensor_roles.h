// Tensor roles: what a tensor does in the network, parsed from its GGUF name
// ("blk.12.ffn_down.weight" → block 12, role ffn_down). Presets, recipe rules, inspect and the
// planner speak in roles; the mapping from names is the table in tensor_roles.cpp (data).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace qmix {

enum class Role {
  kTokenEmbd,
  kOutput,
  kOutputNorm,
  kAttnNorm,
  kAttnQ,
  kAttnK,
  kAttnV,
  kAttnOutput,
  kAttnQkv,
  kAttnGate,
  kAttnQNorm,
  kAttnKNorm,
  kPostAttnNorm,
  kFfnNorm,
  kFfnGate,
  kFfnUp,
  kFfnDown,
  kFfnGateInp,
  kFfnGateExps,
  kFfnUpExps,
  kFfnDownExps,
  kFfnGateShexp,
  kFfnUpShexp,
  kFfnDownShexp,
  kFfnGateInpShexp,
  kSsmConv1d,
  kSsmA,
  kSsmDt,
  kSsmAlpha,
  kSsmBeta,
  kSsmBetaAlpha,
  kSsmNorm,
  kSsmOut,
  kSsmInProj,
  kRopeFreqs,
  kOther,
};

// Coarse grouping used for byte accounting and reports.
enum class RoleGroup { kEmbedding, kAttention, kFfn, kMoe, kSsm, kOutput, kNorm, kOther };

struct RoleInfo {
  Role role;
  std::string_view name;  // as it appears in tensor names: "attn_q", "ffn_down_exps"
  RoleGroup group;
};

std::span<const RoleInfo> all_roles();
const RoleInfo& role_info(Role role);
std::optional<Role> role_by_name(std::string_view name);
std::string_view role_group_name(RoleGroup group);

struct TensorName {
  int block = -1;  // -1 for tensors outside blk.N
  Role role = Role::kOther;
  std::string suffix;  // "weight", "bias" or "" (e.g. "blk.0.ssm_a")
};

// Never fails: unknown names give Role::kOther (and the block index if there is one).
TensorName parse_tensor_name(std::string_view name);

}  // namespace qmix
