#include "model/tensor_roles.h"

#include <array>
#include <charconv>

namespace qmix {
namespace {

using R = Role;
using G = RoleGroup;

constexpr std::array kRoles = {
    RoleInfo{R::kTokenEmbd, "token_embd", G::kEmbedding},
    RoleInfo{R::kOutput, "output", G::kOutput},
    RoleInfo{R::kOutputNorm, "output_norm", G::kNorm},
    RoleInfo{R::kAttnNorm, "attn_norm", G::kNorm},
    RoleInfo{R::kAttnQ, "attn_q", G::kAttention},
    RoleInfo{R::kAttnK, "attn_k", G::kAttention},
    RoleInfo{R::kAttnV, "attn_v", G::kAttention},
    RoleInfo{R::kAttnOutput, "attn_output", G::kAttention},
    RoleInfo{R::kAttnQkv, "attn_qkv", G::kAttention},
    RoleInfo{R::kAttnGate, "attn_gate", G::kAttention},
    RoleInfo{R::kAttnQNorm, "attn_q_norm", G::kNorm},
    RoleInfo{R::kAttnKNorm, "attn_k_norm", G::kNorm},
    RoleInfo{R::kPostAttnNorm, "post_attention_norm", G::kNorm},
    RoleInfo{R::kFfnNorm, "ffn_norm", G::kNorm},
    RoleInfo{R::kFfnGate, "ffn_gate", G::kFfn},
    RoleInfo{R::kFfnUp, "ffn_up", G::kFfn},
    RoleInfo{R::kFfnDown, "ffn_down", G::kFfn},
    RoleInfo{R::kFfnGateInp, "ffn_gate_inp", G::kMoe},
    RoleInfo{R::kFfnGateExps, "ffn_gate_exps", G::kMoe},
    RoleInfo{R::kFfnUpExps, "ffn_up_exps", G::kMoe},
    RoleInfo{R::kFfnDownExps, "ffn_down_exps", G::kMoe},
    RoleInfo{R::kFfnGateShexp, "ffn_gate_shexp", G::kMoe},
    RoleInfo{R::kFfnUpShexp, "ffn_up_shexp", G::kMoe},
    RoleInfo{R::kFfnDownShexp, "ffn_down_shexp", G::kMoe},
    RoleInfo{R::kFfnGateInpShexp, "ffn_gate_inp_shexp", G::kMoe},
    RoleInfo{R::kSsmConv1d, "ssm_conv1d", G::kSsm},
    RoleInfo{R::kSsmA, "ssm_a", G::kSsm},
    RoleInfo{R::kSsmDt, "ssm_dt", G::kSsm},
    RoleInfo{R::kSsmAlpha, "ssm_alpha", G::kSsm},
    RoleInfo{R::kSsmBeta, "ssm_beta", G::kSsm},
    RoleInfo{R::kSsmBetaAlpha, "ssm_ba", G::kSsm},
    RoleInfo{R::kSsmNorm, "ssm_norm", G::kSsm},
    RoleInfo{R::kSsmOut, "ssm_out", G::kSsm},
    RoleInfo{R::kSsmInProj, "ssm_in", G::kSsm},
    RoleInfo{R::kRopeFreqs, "rope_freqs", G::kOther},
    RoleInfo{R::kOther, "other", G::kOther},
};

constexpr std::array<std::string_view, 8> kGroupNames = {"embedding", "attention", "ffn",  "moe",
                                                         "ssm",       "output",    "norm", "other"};

}  // namespace

std::span<const RoleInfo> all_roles() { return kRoles; }

const RoleInfo& role_info(Role role) {
  for (const auto& r : kRoles)
    if (r.role == role) return r;
  return kRoles.back();
}

std::optional<Role> role_by_name(std::string_view name) {
  for (const auto& r : kRoles)
    if (r.name == name) return r.role;
  return std::nullopt;
}

std::string_view role_group_name(RoleGroup group) {
  return kGroupNames[static_cast<size_t>(group)];
}

TensorName parse_tensor_name(std::string_view name) {
  TensorName out;
  std::string_view rest = name;
  if (rest.starts_with("blk.")) {
    rest.remove_prefix(4);
    int block = 0;
    const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), block);
    if (ec == std::errc() && ptr < rest.data() + rest.size() && *ptr == '.') {
      out.block = block;
      rest.remove_prefix(static_cast<size_t>(ptr - rest.data()) + 1);
    }
  }
  for (std::string_view suffix : {".weight", ".bias"}) {
    if (rest.ends_with(suffix)) {
      out.suffix = std::string(suffix.substr(1));
      rest.remove_suffix(suffix.size());
      break;
    }
  }
  out.role = role_by_name(rest).value_or(Role::kOther);
  return out;
}

}  // namespace qmix
