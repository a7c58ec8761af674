// Gated delta net layers of the Qwen3.5 hybrid on the device (the CPU original and the tensor
// layout: src/engine/engine_delta_net.cpp). The recurrence runs token by token, the
// definition; the CPU's chunked form gives the same values to rounding.
#include "cuda/cuda_engine.h"

namespace qmix::cuda {

Status CudaEngine::gated_delta_block(const LayerWeights& L, int64_t n) {
  DeltaNetShape s;
  s.n = n;
  s.n_k = hp_.ssm_group_count;
  s.n_v = hp_.ssm_time_step_rank;
  s.dk = hp_.ssm_state_size;
  s.dv = hp_.ssm_inner_size / s.n_v;
  s.K = L.ssm_conv1d.cols;
  if (s.channels() != L.attn_qkv.rows)
    return make_error(ErrorCode::kCorrupt, "tensor '{}': {} rows, expected {}", L.attn_qkv.name,
                      L.attn_qkv.rows, s.channels());
  const float eps = static_cast<float>(hp_.rms_eps);
  rms_norm(b_.x.get(), device_.vector(L.attn_norm), eps, n, hp_.n_embd, b_.xn.get(), nullptr);
  QMIX_TRY(project(b_.xn.get(), n,
                   {{L.attn_qkv, b_.qkv.get()},
                    {L.attn_gate, b_.z.get()},
                    {L.ssm_alpha, b_.decay.get()},
                    {L.ssm_beta, b_.beta.get()}}));
  delta_net_prepare(s, b_.qkv.get(), device_.vector(L.ssm_conv1d), device_.vector(L.ssm_a),
                    device_.vector(L.ssm_dt), b_.conv.get(), b_.decay.get(), b_.beta.get(),
                    nullptr);
  QMIX_TRY(check_launch("delta net inputs"));
  QMIX_TRY(check(
      delta_net_recurrence(s, b_.conv.get(), b_.decay.get(), b_.beta.get(), b_.core.get(), nullptr),
      "delta net recurrence"));
  QMIX_TRY(check_launch("delta net recurrence"));
  delta_net_gated_norm(s, b_.core.get(), b_.z.get(), device_.vector(L.ssm_norm), eps, nullptr);
  QMIX_TRY(check_launch("delta net gated norm"));
  return project(b_.core.get(), n, {{L.ssm_out, b_.x.get()}}, Into::kAccumulate);
}

}  // namespace qmix::cuda
