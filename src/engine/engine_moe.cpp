// Mixture-of-experts FFN (Qwen3-MoE): softmax router, top-k experts, optionally renormalised
// weights, SwiGLU experts. Rows are grouped by expert so each expert's weights are read once.
#include <algorithm>
#include <numeric>
#include <tuple>

#include "engine/engine.h"

namespace qmix {
namespace {

struct Routing {
  std::vector<int32_t> expert;  // per (token, slot) pair, sorted by expert
  std::vector<int32_t> token;
  std::vector<float> weight;
  std::vector<int64_t> expert_begin;  // n_expert + 1 offsets into the sorted pairs
};

Routing route(const std::vector<float>& logits, int64_t n, int64_t n_expert, int64_t k,
              bool normalize) {
  std::vector<int32_t> idx(static_cast<size_t>(n_expert));
  std::vector<std::tuple<int32_t, int32_t, float>> pairs;  // expert, token, weight
  std::vector<float> p(static_cast<size_t>(n_expert));
  for (int64_t t = 0; t < n; ++t) {
    std::copy_n(logits.begin() + t * n_expert, n_expert, p.begin());
    ops::softmax(p.data(), n_expert);
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int32_t a, int32_t b) {
      return p[static_cast<size_t>(a)] > p[static_cast<size_t>(b)];
    });
    float sum = 0;
    for (int64_t j = 0; j < k; ++j) sum += p[static_cast<size_t>(idx[static_cast<size_t>(j)])];
    for (int64_t j = 0; j < k; ++j) {
      const int32_t e = idx[static_cast<size_t>(j)];
      const float w = p[static_cast<size_t>(e)] / (normalize ? sum : 1.0f);
      pairs.emplace_back(e, static_cast<int32_t>(t), w);
    }
  }
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  Routing r;
  r.expert_begin.assign(static_cast<size_t>(n_expert + 1), 0);
  for (const auto& [e, t, w] : pairs) {
    r.expert.push_back(e);
    r.token.push_back(t);
    r.weight.push_back(w);
    r.expert_begin[static_cast<size_t>(e) + 1]++;
  }
  std::partial_sum(r.expert_begin.begin(), r.expert_begin.end(), r.expert_begin.begin());
  return r;
}

}  // namespace

void Engine::moe_block(int64_t il, Scratch& s, int64_t n) {
  const LayerWeights& L = weights_.layers[static_cast<size_t>(il)];
  const int64_t E = hp_.n_embd, n_expert = L.ffn_gate_inp.rows, F = L.ffn_up_exps.rows;
  const int64_t k = std::min<int64_t>(hp_.n_expert_used, n_expert);
  rms_norm_rows(s.x.data(), L.ffn_norm.present() ? L.ffn_norm : L.post_attn_norm, n, s.xn.data());
  std::vector<float> router(static_cast<size_t>(n * n_expert));
  ctx_.observe(L.ffn_gate_inp, s.xn.data(), n);
  matmul(ctx_, L.ffn_gate_inp, 0, s.xn.data(), n, router.data());
  const Routing r = route(router, n, n_expert, k, norm_topk_);
  const int64_t m = static_cast<int64_t>(r.token.size());

  std::vector<float> xg(static_cast<size_t>(m * E));
  for (int64_t i = 0; i < m; ++i)
    std::copy_n(s.xn.data() + r.token[static_cast<size_t>(i)] * E, E, xg.data() + i * E);
  ctx_.observe(L.ffn_gate_exps, xg.data(), m, r.expert);
  ctx_.observe(L.ffn_up_exps, xg.data(), m, r.expert);
  s.gate.assign(static_cast<size_t>(m * F), 0.0f);
  s.up.assign(static_cast<size_t>(m * F), 0.0f);
  for (int64_t e = 0; e < n_expert; ++e) {
    const int64_t b = r.expert_begin[static_cast<size_t>(e)],
                  cnt = r.expert_begin[static_cast<size_t>(e) + 1] - b;
    if (cnt == 0) continue;
    matmul(ctx_, L.ffn_gate_exps, e, xg.data() + b * E, cnt, s.gate.data() + b * F);
    matmul(ctx_, L.ffn_up_exps, e, xg.data() + b * E, cnt, s.up.data() + b * F);
  }
  ops::swiglu(s.gate.data(), s.up.data(), m * F, s.gate.data());
  ctx_.observe(L.ffn_down_exps, s.gate.data(), m, r.expert);
  std::vector<float> down(static_cast<size_t>(m * E));
  for (int64_t e = 0; e < n_expert; ++e) {
    const int64_t b = r.expert_begin[static_cast<size_t>(e)],
                  cnt = r.expert_begin[static_cast<size_t>(e) + 1] - b;
    if (cnt > 0) matmul(ctx_, L.ffn_down_exps, e, s.gate.data() + b * F, cnt, down.data() + b * E);
  }
  for (int64_t i = 0; i < m; ++i) {
    float* x = s.x.data() + r.token[static_cast<size_t>(i)] * E;
    const float w = r.weight[static_cast<size_t>(i)];
    for (int64_t j = 0; j < E; ++j) x[j] += w * down[static_cast<size_t>(i * E + j)];
  }
}

}  // namespace qmix
