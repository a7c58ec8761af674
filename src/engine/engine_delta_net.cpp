// Gated delta net (linear attention) layers of the Qwen3.5 hybrid, on llama.cpp's GGUF layout:
// attn_qkv = [q | k | v] projection, ssm_conv1d = causal depthwise conv (kernel K) over those
// channels, attn_gate = z (output gate), ssm_alpha/ssm_beta = per-value-head decay/write inputs,
// ssm_a = -exp(A_log), ssm_dt.bias, ssm_norm = gated RMSNorm weight (per head), ssm_out.
// The converter orders value heads so that value head j reads key head j mod n_k_heads.
#include <cmath>

#include "engine/delta_net.h"
#include "engine/engine.h"

namespace qmix {
namespace {

float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

void l2_normalize(float* x, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  const float inv = 1.0f / std::sqrt(static_cast<float>(sum) + 1e-6f);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

// out[t][c] = silu(Σ_i w[c][i] · in[t + i - (K-1)][c]), zero history before the chunk.
void causal_conv_silu(const float* in, const float* w, int64_t n, int64_t channels, int64_t K,
                      float* out) {
  for (int64_t t = 0; t < n; ++t)
    for (int64_t c = 0; c < channels; ++c) {
      float acc = 0;
      for (int64_t i = 0; i < K; ++i) {
        const int64_t src = t + i - (K - 1);
        if (src >= 0) acc += w[c * K + i] * in[src * channels + c];
      }
      out[t * channels + c] = acc * ops::sigmoid(acc);
    }
}

}  // namespace

void Engine::gated_delta_block(int64_t il, Scratch& s, int64_t n) {
  const LayerWeights& L = weights_.layers[static_cast<size_t>(il)];
  const int64_t E = hp_.n_embd, dk = hp_.ssm_state_size, n_k = hp_.ssm_group_count;
  const int64_t n_v = hp_.ssm_time_step_rank, dv = hp_.ssm_inner_size / n_v;
  const int64_t C = L.attn_qkv.rows, K = L.ssm_conv1d.cols, V = n_v * dv;
  const float eps = static_cast<float>(hp_.rms_eps);
  for (int64_t t = 0; t < n; ++t)
    ops::rms_norm(s.x.data() + t * E, small(L.attn_norm), eps, E, s.xn.data() + t * E);
  std::vector<float> qkv(static_cast<size_t>(n * C)), conv(qkv.size()),
      z(static_cast<size_t>(n * V));
  std::vector<float> a(static_cast<size_t>(n * n_v)), b(a.size());
  for (const WeightRef* w : {&L.attn_qkv, &L.attn_gate, &L.ssm_alpha, &L.ssm_beta})
    ctx_.observe(*w, s.xn.data(), n);
  matmul(ctx_, L.attn_qkv, 0, s.xn.data(), n, qkv.data());
  matmul(ctx_, L.attn_gate, 0, s.xn.data(), n, z.data());
  matmul(ctx_, L.ssm_alpha, 0, s.xn.data(), n, a.data());
  matmul(ctx_, L.ssm_beta, 0, s.xn.data(), n, b.data());
  causal_conv_silu(qkv.data(), small(L.ssm_conv1d), n, C, K, conv.data());
  const float* A = small(L.ssm_a);
  const float* dt_bias = small(L.ssm_dt);
  for (int64_t t = 0; t < n; ++t) {
    float* row = conv.data() + t * C;
    for (int64_t h = 0; h < n_k; ++h) {
      l2_normalize(row + h * dk, dk);             // q
      l2_normalize(row + n_k * dk + h * dk, dk);  // k
      for (int64_t i = 0; i < dk; ++i) row[h * dk + i] /= std::sqrt(static_cast<float>(dk));
    }
    for (int64_t h = 0; h < n_v; ++h) {
      a[static_cast<size_t>(t * n_v + h)] =
          A[h] * softplus(a[static_cast<size_t>(t * n_v + h)] + dt_bias[h]);
      b[static_cast<size_t>(t * n_v + h)] = ops::sigmoid(b[static_cast<size_t>(t * n_v + h)]);
    }
  }
  std::vector<float> core(static_cast<size_t>(n * V));
  pool_.parallel_for(n_v, 1, [&](int64_t h0, int64_t h1, int) {
    std::vector<float> state(static_cast<size_t>(dk * dv));
    for (int64_t h = h0; h < h1; ++h) {
      std::fill(state.begin(), state.end(), 0.0f);
      const int64_t kh = h % n_k;
      const DeltaNetHead head{conv.data() + kh * dk,
                              conv.data() + n_k * dk + kh * dk,
                              conv.data() + 2 * n_k * dk + h * dv,
                              a.data() + h,
                              b.data() + h,
                              core.data() + h * dv,
                              C,
                              C,
                              n_v,
                              V,
                              dk,
                              dv};
      gated_delta_rule_chunked(head, n, state.data());
    }
  });
  const float* norm_w = small(L.ssm_norm);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < n_v; ++h) {
      float* o = core.data() + t * V + h * dv;
      const float* g = z.data() + t * V + h * dv;
      ops::rms_norm(o, norm_w, eps, dv, o);
      for (int64_t j = 0; j < dv; ++j) o[j] *= g[j] * ops::sigmoid(g[j]);
    }
  ctx_.observe(L.ssm_out, core.data(), n);
  matmul(ctx_, L.ssm_out, 0, core.data(), n, s.tmp.data());
  for (size_t i = 0; i < static_cast<size_t>(n * E); ++i) s.x[i] += s.tmp[i];
}

}  // namespace qmix
