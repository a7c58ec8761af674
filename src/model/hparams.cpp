#include "model/hparams.h"

#include <array>

#include <fmt/format.h>

namespace qmix {
namespace {

constexpr std::array kArchs = {
    ArchInfo{Arch::kLlama, "llama", false, false},
    ArchInfo{Arch::kQwen3, "qwen3", false, false},
    ArchInfo{Arch::kQwen3Moe, "qwen3moe", true, false},
    ArchInfo{Arch::kQwen35, "qwen35", false, true},
    ArchInfo{Arch::kQwen35Moe, "qwen35moe", true, true},
};

struct KeyReader {
  const GgufFile& file;
  std::string prefix;

  Expected<int64_t> required(std::string_view key) const {
    return file.get_int(fmt::format("{}.{}", prefix, key));
  }
  Expected<int64_t> optional(std::string_view key, int64_t fallback) const {
    return file.get_int_or(fmt::format("{}.{}", prefix, key), fallback);
  }
  Expected<double> optional_float(std::string_view key, double fallback) const {
    return file.get_float_or(fmt::format("{}.{}", prefix, key), fallback);
  }
};

}  // namespace

Expected<const ArchInfo*> arch_by_name(std::string_view name) {
  for (const auto& a : kArchs)
    if (a.name == name) return &a;
  return make_error(ErrorCode::kUnsupported, "unsupported architecture '{}' (supported: {})", name,
                    supported_arch_names());
}

std::string supported_arch_names() {
  std::string out;
  for (const auto& a : kArchs) out += (out.empty() ? "" : ", ") + std::string(a.name);
  return out;
}

bool HParams::is_attention_layer(int64_t il) const {
  if (!arch->hybrid || full_attention_interval <= 0) return true;
  return (il + 1) % full_attention_interval == 0;
}

int64_t HParams::n_attention_layers() const {
  int64_t n = 0;
  for (int64_t il = 0; il < n_layer; ++il) n += is_attention_layer(il) ? 1 : 0;
  return n;
}

Expected<HParams> read_hparams(const GgufFile& file) {
  QMIX_TRY_ASSIGN(const std::string arch_name, file.get_string("general.architecture"));
  auto arch = arch_by_name(arch_name);
  if (!arch.ok()) return arch.error().with_context(file.name());
  HParams h;
  h.arch = *arch;
  const KeyReader k{file, arch_name};
  QMIX_TRY_ASSIGN(h.n_layer, k.required("block_count"));
  QMIX_TRY_ASSIGN(h.n_embd, k.required("embedding_length"));
  QMIX_TRY_ASSIGN(h.n_ff, k.optional("feed_forward_length", 0));
  QMIX_TRY_ASSIGN(h.n_head, k.required("attention.head_count"));
  QMIX_TRY_ASSIGN(h.n_head_kv, k.optional("attention.head_count_kv", h.n_head));
  if (h.n_head <= 0 || h.n_head_kv <= 0 || h.n_layer <= 0 || h.n_embd <= 0)
    return make_error(ErrorCode::kCorrupt, "{}: non-positive layer/head/embedding counts",
                      file.name());
  QMIX_TRY_ASSIGN(h.head_dim_k, k.optional("attention.key_length", h.n_embd / h.n_head));
  QMIX_TRY_ASSIGN(h.head_dim_v, k.optional("attention.value_length", h.head_dim_k));
  QMIX_TRY_ASSIGN(h.n_ctx_train, k.optional("context_length", 0));
  QMIX_TRY_ASSIGN(h.rms_eps, k.optional_float("attention.layer_norm_rms_epsilon", 1e-6));
  QMIX_TRY_ASSIGN(h.rope_theta, k.optional_float("rope.freq_base", 10000.0));
  QMIX_TRY_ASSIGN(h.n_rot, k.optional("rope.dimension_count", h.head_dim_k));
  QMIX_TRY_ASSIGN(h.n_expert, k.optional("expert_count", 0));
  QMIX_TRY_ASSIGN(h.n_expert_used, k.optional("expert_used_count", 0));
  QMIX_TRY_ASSIGN(h.n_ff_expert, k.optional("expert_feed_forward_length", 0));
  QMIX_TRY_ASSIGN(h.ssm_conv_kernel, k.optional("ssm.conv_kernel", 0));
  QMIX_TRY_ASSIGN(h.ssm_state_size, k.optional("ssm.state_size", 0));
  QMIX_TRY_ASSIGN(h.ssm_group_count, k.optional("ssm.group_count", 0));
  QMIX_TRY_ASSIGN(h.ssm_time_step_rank, k.optional("ssm.time_step_rank", 0));
  QMIX_TRY_ASSIGN(h.ssm_inner_size, k.optional("ssm.inner_size", 0));
  QMIX_TRY_ASSIGN(h.full_attention_interval, k.optional("full_attention_interval", 0));
  if (const GgufValue* tokens = file.find("tokenizer.ggml.tokens"))
    h.n_vocab = static_cast<int64_t>(tokens->array_size());
  return h;
}

}  // namespace qmix
