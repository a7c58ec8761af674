// Gated delta net (linear attention) layers of the Qwen3.5 hybrid, on llama.cpp's GGUF layout:
// attn_qkv = [q | k | v] projection, ssm_conv1d = causal depthwise conv (kernel K) over those
// channels, attn_gate = z (output gate), ssm_alpha/ssm_beta = per-value-head decay/write inputs,
// ssm_a = -exp(A_log), ssm_dt.bias, ssm_norm = gated RMSNorm weight (per head), ssm_out.
// The converter orders value heads so that value head j reads key head j mod n_k_heads.
#include <cmath>

#include "engine/delta_net.h"
#include "engine/engine.h"
#include "engine/vec_exp.h"

namespace qmix {
namespace {

// Tokens per parallel_for job of the per-token steps (cheap per token, so coarse).
constexpr int64_t kTokenGrain = 16;

float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

void l2_normalize(float* x, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  const float inv = 1.0f / std::sqrt(static_cast<float>(sum) + 1e-6f);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

// out[i] = sigmoid(x[i]) = 1 / (1 + e^{−x[i]}), with one vector exp over the row.
void sigmoid_row(const float* x, int64_t n, ExpInplaceFn exp, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = -x[i];
  exp(out, n);
  for (int64_t i = 0; i < n; ++i) out[i] = 1.0f / (1.0f + out[i]);
}

// Rows [t0, t1): out[t][c] = silu(Σ_i w[c][i] · in[t + i − (K−1)][c]), zero history before
// token 0. `w_t` is w transposed (K × channels) so that the inner loop runs over channels.
void causal_conv_silu(const float* in, const float* w_t, int64_t t0, int64_t t1, int64_t channels,
                      int64_t K, float* out) {
  const ExpInplaceFn exp = exp_inplace();
  std::vector<float> sig(static_cast<size_t>(channels));
  for (int64_t t = t0; t < t1; ++t) {
    float* acc = out + t * channels;
    std::fill(acc, acc + channels, 0.0f);
    for (int64_t i = 0; i < K; ++i) {
      const int64_t src = t + i - (K - 1);
      if (src < 0) continue;
      const float* x = in + src * channels;
      const float* w = w_t + i * channels;
      for (int64_t c = 0; c < channels; ++c) acc[c] += w[c] * x[c];
    }
    sigmoid_row(acc, channels, exp, sig.data());
    for (int64_t c = 0; c < channels; ++c) acc[c] *= sig[static_cast<size_t>(c)];
  }
}

void resize_for(std::vector<float>& v, int64_t n) { v.resize(static_cast<size_t>(n)); }

}  // namespace

// Norm, the four input projections (all observed), then per token: conv + silu, L2-normalised
// q and k (q also scaled by 1/√dk), decay g = A · softplus(α + dt_bias) and β = sigmoid(β_in).
void Engine::delta_net_inputs(int64_t il, Scratch& s, int64_t n) {
  const LayerWeights& L = weights_.layers[static_cast<size_t>(il)];
  const int64_t dk = hp_.ssm_state_size, n_k = hp_.ssm_group_count;
  const int64_t n_v = hp_.ssm_time_step_rank, C = L.attn_qkv.rows, K = L.ssm_conv1d.cols;
  Scratch::GatedDeltaNet& d = s.delta_net;
  rms_norm_rows(s.x.data(), L.attn_norm, n, s.xn.data());
  resize_for(d.qkv, n * C);
  resize_for(d.conv, n * C);
  resize_for(d.z, n * L.attn_gate.rows);
  resize_for(d.decay, n * n_v);
  resize_for(d.beta, n * n_v);
  for (const WeightRef* w : {&L.attn_qkv, &L.attn_gate, &L.ssm_alpha, &L.ssm_beta})
    ctx_.observe(*w, s.xn.data(), n);
  matmul(ctx_, L.attn_qkv, 0, s.xn.data(), n, d.qkv.data());
  matmul(ctx_, L.attn_gate, 0, s.xn.data(), n, d.z.data());
  matmul(ctx_, L.ssm_alpha, 0, s.xn.data(), n, d.decay.data());
  matmul(ctx_, L.ssm_beta, 0, s.xn.data(), n, d.beta.data());
  std::vector<float> w_t(static_cast<size_t>(K * C));
  const float* w = small(L.ssm_conv1d);
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < K; ++i) w_t[static_cast<size_t>(i * C + c)] = w[c * K + i];
  const float* A = small(L.ssm_a);
  const float* dt_bias = small(L.ssm_dt);
  const float q_scale = 1.0f / std::sqrt(static_cast<float>(dk));
  pool_.parallel_for(n, kTokenGrain, [&](int64_t t0, int64_t t1, int) {
    causal_conv_silu(d.qkv.data(), w_t.data(), t0, t1, C, K, d.conv.data());
    for (int64_t t = t0; t < t1; ++t) {
      float* row = d.conv.data() + t * C;
      for (int64_t h = 0; h < n_k; ++h) {
        l2_normalize(row + h * dk, dk);             // q
        l2_normalize(row + n_k * dk + h * dk, dk);  // k
        for (int64_t i = 0; i < dk; ++i) row[h * dk + i] *= q_scale;
      }
      for (int64_t h = 0; h < n_v; ++h) {
        float& g = d.decay[static_cast<size_t>(t * n_v + h)];
        g = A[h] * softplus(g + dt_bias[h]);
        float& b = d.beta[static_cast<size_t>(t * n_v + h)];
        b = ops::sigmoid(b);
      }
    }
  });
}

void Engine::gated_delta_block(int64_t il, Scratch& s, int64_t n) {
  const LayerWeights& L = weights_.layers[static_cast<size_t>(il)];
  const int64_t dk = hp_.ssm_state_size, n_k = hp_.ssm_group_count;
  const int64_t n_v = hp_.ssm_time_step_rank, dv = hp_.ssm_inner_size / n_v;
  const int64_t C = L.attn_qkv.rows, V = n_v * dv;
  delta_net_inputs(il, s, n);
  Scratch::GatedDeltaNet& d = s.delta_net;
  resize_for(d.core, n * V);
  pool_.parallel_for(n_v, 1, [&](int64_t h0, int64_t h1, int) {
    std::vector<float> state(static_cast<size_t>(dk * dv));
    for (int64_t h = h0; h < h1; ++h) {
      std::fill(state.begin(), state.end(), 0.0f);
      const int64_t kh = h % n_k;
      const DeltaNetHead head{d.conv.data() + kh * dk,
                              d.conv.data() + n_k * dk + kh * dk,
                              d.conv.data() + 2 * n_k * dk + h * dv,
                              d.decay.data() + h,
                              d.beta.data() + h,
                              d.core.data() + h * dv,
                              C,
                              C,
                              n_v,
                              V,
                              dk,
                              dv};
      gated_delta_rule_chunked(head, n, state.data());
    }
  });
  // Gated RMSNorm per head: rms_norm(o) · silu(z).
  const float* norm_w = small(L.ssm_norm);
  const float eps = static_cast<float>(hp_.rms_eps);
  pool_.parallel_for(n, kTokenGrain, [&](int64_t t0, int64_t t1, int) {
    const ExpInplaceFn exp = exp_inplace();
    std::vector<float> sig(static_cast<size_t>(V));
    for (int64_t t = t0; t < t1; ++t) {
      float* o = d.core.data() + t * V;
      const float* g = d.z.data() + t * V;
      for (int64_t h = 0; h < n_v; ++h) ops::rms_norm(o + h * dv, norm_w, eps, dv, o + h * dv);
      sigmoid_row(g, V, exp, sig.data());
      for (int64_t j = 0; j < V; ++j) o[j] *= g[j] * sig[static_cast<size_t>(j)];
    }
  });
  ctx_.observe(L.ssm_out, d.core.data(), n);
  matmul(ctx_, L.ssm_out, 0, d.core.data(), n, s.tmp.data());
  add_rows(s.tmp.data(), n, s.x.data());
}

}  // namespace qmix
