#include "model/memory_model.h"

#include <algorithm>

namespace qmix {
namespace {

// Bytes of n values of a cache type (rounded up to whole blocks).
uint64_t type_bytes(GgmlType type, int64_t n) {
  const QuantType& t = quant_type(type);
  const int64_t blocks = (n + t.block_size - 1) / t.block_size;
  return static_cast<uint64_t>(blocks * t.block_bytes);
}

}  // namespace

uint64_t kv_bytes_per_token(const HParams& hp, GgmlType k_type, GgmlType v_type) {
  const uint64_t per_layer = type_bytes(k_type, hp.n_head_kv * hp.head_dim_k) +
                             type_bytes(v_type, hp.n_head_kv * hp.head_dim_v);
  return per_layer * static_cast<uint64_t>(hp.n_attention_layers());
}

uint64_t recurrent_state_bytes(const HParams& hp) {
  const int64_t linear_layers = hp.n_layer - hp.n_attention_layers();
  if (linear_layers == 0) return 0;
  // Conv state: the last (kernel − 1) inputs of the q, k and v channels.
  const int64_t conv_channels = hp.ssm_inner_size + 2 * hp.ssm_group_count * hp.ssm_state_size;
  const int64_t conv = (hp.ssm_conv_kernel - 1) * conv_channels;
  // Delta-rule state: one key_dim × value_dim matrix per value head.
  const int64_t delta = hp.ssm_state_size * hp.ssm_inner_size;
  return static_cast<uint64_t>((conv + delta) * linear_layers) * sizeof(float);
}

uint64_t compute_buffer_bytes(const HParams& hp, const MemoryRequest& r) {
  const int64_t ub = r.n_ubatch;
  const int64_t ffn = std::max(hp.n_ff, hp.n_ff_expert * std::max<int64_t>(hp.n_expert_used, 1));
  const int64_t q_width = 2 * hp.n_head * hp.head_dim_k;       // gated attention doubles q
  int64_t floats = ub * hp.n_vocab;                            // logits
  floats += ub * (2 * ffn + 4 * hp.n_embd + q_width);          // live intermediates of one layer
  if (!r.flash_attention) floats += hp.n_head * ub * r.n_ctx;  // KQ scores
  return static_cast<uint64_t>(floats) * sizeof(float);
}

MemoryEstimate estimate_memory(const HParams& hp, uint64_t weight_bytes, const MemoryRequest& r) {
  MemoryEstimate e;
  e.weights = weight_bytes;
  e.kv_cache = kv_bytes_per_token(hp, r.k_type, r.v_type) * static_cast<uint64_t>(r.n_ctx);
  e.recurrent_state = recurrent_state_bytes(hp) * static_cast<uint64_t>(r.n_seq);
  e.compute = compute_buffer_bytes(hp, r);
  e.overhead = r.runtime_overhead;
  return e;
}

int64_t max_context(const HParams& hp, uint64_t weight_bytes, uint64_t budget,
                    MemoryRequest request) {
  // total(n_ctx) grows monotonically: binary search over multiples of 256.
  constexpr int64_t kStep = 256;
  int64_t lo = 0, hi = int64_t{1} << 30;  // in steps
  auto fits = [&](int64_t steps) {
    request.n_ctx = steps * kStep;
    return estimate_memory(hp, weight_bytes, request).total() <= budget;
  };
  if (!fits(1)) return 0;
  lo = 1;
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  return lo * kStep;
}

}  // namespace qmix
