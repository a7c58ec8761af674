// Architecture hyper-parameters read from GGUF metadata ("{arch}.block_count", …).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_file.h"

namespace qmix {

enum class Arch { kLlama, kQwen3, kQwen3Moe, kQwen35, kQwen35Moe };

struct ArchInfo {
  Arch arch;
  std::string_view name;  // general.architecture value
  bool moe;
  bool hybrid;  // gated delta net + attention layers
};

Expected<const ArchInfo*> arch_by_name(std::string_view name);  // error lists supported ones
std::string supported_arch_names();

struct HParams {
  const ArchInfo* arch = nullptr;
  int64_t n_layer = 0;
  int64_t n_embd = 0;
  int64_t n_ff = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim_k = 0;  // attention.key_length (n_embd / n_head if absent)
  int64_t head_dim_v = 0;
  int64_t n_ctx_train = 0;
  int64_t n_vocab = 0;
  double rms_eps = 1e-6;
  double rope_theta = 10000.0;
  int64_t n_rot = 0;  // rope.dimension_count (head_dim_k if absent)
  // MoE
  int64_t n_expert = 0;
  int64_t n_expert_used = 0;
  int64_t n_ff_expert = 0;
  // Hybrid (gated delta net)
  int64_t ssm_conv_kernel = 0;
  int64_t ssm_state_size = 0;
  int64_t ssm_group_count = 0;
  int64_t ssm_time_step_rank = 0;
  int64_t ssm_inner_size = 0;
  int64_t full_attention_interval = 0;

  // For hybrids: whether layer il is a full-attention layer (others are linear attention).
  bool is_attention_layer(int64_t il) const;
  int64_t n_attention_layers() const;
};

// Reads the hyper-parameters of a model; errors name the file and the missing key.
Expected<HParams> read_hparams(const GgufFile& file);

}  // namespace qmix
