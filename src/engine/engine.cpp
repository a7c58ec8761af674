#include "engine/engine.h"

#include "engine/gemm.h"

#include <algorithm>
#include <cmath>
#include <memory>

namespace qmix {

namespace {
// llama.cpp's rope type per architecture: only llama rotates adjacent pairs.
ops::RopeStyle rope_style_for(Arch arch) {
  return arch == Arch::kLlama ? ops::RopeStyle::kNormal : ops::RopeStyle::kNeox;
}

// Every user overwrites the whole buffer, so growing it is enough (no zeroing per layer).
void resize(std::vector<float>& v, int64_t n) { v.resize(static_cast<size_t>(n)); }

// Tokens per task of the elementwise work spread over the pool.
constexpr int64_t kTokenGrain = 16;
}  // namespace

Engine::Engine(const HParams& hp, ModelWeights weights, const EngineOptions& options)
    : hp_(hp), weights_(std::move(weights)), pool_(options.threads) {
  ctx_.pool = &pool_;
  ctx_.workspace = &workspace_;
  ctx_.mode = options.mode;
  ctx_.observer = options.observer;
  rope_style_ = rope_style_for(hp.arch->arch);
}

Expected<std::unique_ptr<Engine>> Engine::create(const GgufModel& model,
                                                 const EngineOptions& options) {
  QMIX_TRY_ASSIGN(HParams hp, read_hparams(model.metadata()));
  QMIX_TRY_ASSIGN(ModelWeights w, load_weights(model, hp));
  std::unique_ptr<Engine> e(new Engine(hp, std::move(w), options));
  // Qwen3-MoE renormalises the top-k router weights; llama.cpp has no key for it, so the
  // optional expert_weights_norm key only overrides that default.
  QMIX_TRY_ASSIGN(
      const int64_t norm_topk,
      model.metadata().get_int_or(std::string(hp.arch->name) + ".expert_weights_norm", 1));
  e->norm_topk_ = norm_topk != 0;
  if (options.backend) {
    QMIX_TRY_ASSIGN(e->backend_, options.backend(BackendInputs{e->hp_, e->weights_,
                                                               options.observer, e->norm_topk_}));
    return e;
  }
  QMIX_TRY(e->cache_small_tensors());
  return e;
}

void Engine::set_observer(MatmulObserver* observer) {
  ctx_.observer = observer;
  if (backend_) backend_->set_observer(observer);
}

Status Engine::cache_small_tensors() {
  auto add = [&](const WeightRef& w) {
    if (!w.present() || small_.count(w.data)) return;
    std::vector<float> v(static_cast<size_t>(w.cols * w.rows * w.experts));
    for (int64_t e = 0; e < w.experts; ++e)
      for (int64_t r = 0; r < w.rows; ++r)
        dequantize_row(w, e, r, v.data() + (e * w.rows + r) * w.cols);
    small_.emplace(w.data, std::move(v));
  };
  add(weights_.output_norm);
  for (const auto& l : weights_.layers)
    for (const WeightRef* w : {&l.attn_norm, &l.attn_q_norm, &l.attn_k_norm, &l.post_attn_norm,
                               &l.ffn_norm, &l.ssm_conv1d, &l.ssm_a, &l.ssm_dt, &l.ssm_norm})
      add(*w);
  return ok_status();
}

const float* Engine::small(const WeightRef& w) const {
  const auto it = small_.find(w.data);
  QMIX_CHECK(it != small_.end());
  return it->second.data();
}

Expected<std::vector<float>> Engine::eval(std::span<const int32_t> tokens, int64_t logits_from) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t E = hp_.n_embd;
  if (n == 0 || logits_from < 0 || logits_from > n)
    return make_error(ErrorCode::kInvalidArgument, "eval: bad token count {} / logits_from {}", n,
                      logits_from);
  for (int64_t t = 0; t < n; ++t) {
    const int32_t id = tokens[static_cast<size_t>(t)];
    if (id < 0 || id >= weights_.token_embd.rows)
      return make_error(ErrorCode::kInvalidArgument, "token id {} outside the vocabulary ({})", id,
                        weights_.token_embd.rows);
  }
  if (backend_) return backend_->eval(tokens, logits_from);
  Scratch s(n, E);
  if (hp_.n_rot > 0) s.rope = ops::rope_table(n, hp_.n_rot, static_cast<float>(hp_.rope_theta));
  for (int64_t t = 0; t < n; ++t)
    dequantize_row(weights_.token_embd, 0, tokens[static_cast<size_t>(t)], s.x.data() + t * E);
  for (int64_t il = 0; il < hp_.n_layer; ++il) {
    if (hp_.is_attention_layer(il))
      attention_block(il, s, n);
    else
      gated_delta_block(il, s, n);
    if (weights_.layers[static_cast<size_t>(il)].ffn_gate_inp.present())
      moe_block(il, s, n);
    else
      ffn_block(il, s, n);
  }
  const int64_t n_out = n - logits_from;
  rms_norm_rows(s.x.data() + logits_from * E, weights_.output_norm, n_out, s.xn.data());
  std::vector<float> logits(static_cast<size_t>(n_out * n_vocab()));
  ctx_.observe(weights_.output, s.xn.data(), n_out);
  matmul(ctx_, weights_.output, 0, s.xn.data(), n_out, logits.data());
  return logits;
}

void Engine::attention_block(int64_t il, Scratch& s, int64_t n) {
  const LayerWeights& L = weights_.layers[static_cast<size_t>(il)];
  const int64_t hd = hp_.head_dim_k, hd_v = hp_.head_dim_v;
  const int64_t nh = hp_.n_head, nkv = hp_.n_head_kv;
  const float eps = static_cast<float>(hp_.rms_eps);
  rms_norm_rows(s.x.data(), L.attn_norm, n, s.xn.data());
  resize(s.q, n * L.attn_q.rows);
  resize(s.k, n * nkv * hd);
  resize(s.v, n * nkv * hd_v);
  for (const WeightRef* w : {&L.attn_q, &L.attn_k, &L.attn_v}) ctx_.observe(*w, s.xn.data(), n);
  matmul(ctx_, L.attn_q, 0, s.xn.data(), n, s.q.data());
  matmul(ctx_, L.attn_k, 0, s.xn.data(), n, s.k.data());
  matmul(ctx_, L.attn_v, 0, s.xn.data(), n, s.v.data());
  // Gated attention (Qwen3.5): attn_q yields [q | gate] per head; split them apart.
  const bool gated = L.attn_q.rows == 2 * nh * hd;
  if (gated) split_query_gate(s, n, nh, hd);
  const float* q_norm = L.attn_q_norm.present() ? small(L.attn_q_norm) : nullptr;
  const float* k_norm = L.attn_k_norm.present() ? small(L.attn_k_norm) : nullptr;
  pool_.parallel_for(n, kTokenGrain, [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) {
      float* q = s.q.data() + t * nh * hd;
      float* k = s.k.data() + t * nkv * hd;
      if (q_norm)
        for (int64_t h = 0; h < nh; ++h) ops::rms_norm(q + h * hd, q_norm, eps, hd, q + h * hd);
      if (k_norm)
        for (int64_t h = 0; h < nkv; ++h) ops::rms_norm(k + h * hd, k_norm, eps, hd, k + h * hd);
      ops::rope(q, nh, hd, s.rope, t, rope_style_);
      ops::rope(k, nkv, hd, s.rope, t, rope_style_);
    }
  });
  attend(s, n, nh, nkv, hd, hd_v);
  if (gated)
    for (size_t i = 0; i < s.attn.size(); ++i) s.attn[i] *= ops::sigmoid(s.gate[i]);
  ctx_.observe(L.attn_output, s.attn.data(), n);
  matmul(ctx_, L.attn_output, 0, s.attn.data(), n, s.tmp.data());
  add_rows(s.tmp.data(), n, s.x.data());
}

void Engine::rms_norm_rows(const float* x, const WeightRef& w, int64_t n, float* y) {
  const int64_t E = hp_.n_embd;
  const float* weight = small(w);
  const float eps = static_cast<float>(hp_.rms_eps);
  pool_.parallel_for(n, kTokenGrain, [&](int64_t begin, int64_t end, int) {
    for (int64_t t = begin; t < end; ++t) ops::rms_norm(x + t * E, weight, eps, E, y + t * E);
  });
}

void Engine::add_rows(const float* delta, int64_t n, float* x) {
  const int64_t E = hp_.n_embd;
  pool_.parallel_for(n, kTokenGrain, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin * E; i < end * E; ++i) x[i] += delta[i];
  });
}

void Engine::split_query_gate(Scratch& s, int64_t n, int64_t nh, int64_t hd) {
  std::vector<float> q(static_cast<size_t>(n * nh * hd));
  resize(s.gate, n * nh * hd);
  for (int64_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < nh; ++h) {
      const float* src = s.q.data() + (t * nh + h) * 2 * hd;
      std::copy_n(src, hd, q.data() + (t * nh + h) * hd);
      std::copy_n(src + hd, hd, s.gate.data() + (t * nh + h) * hd);
    }
  s.q = std::move(q);
}

// Per head, scores = Q·Kᵀ and out = P·V as two f32 GEMMs that skip the causally masked half:
// scores only up to the diagonal, and P·V only over the keys each row can see (the softmax
// zeroes the rest of the row). Keys (transposed) and values are packed once per KV head as
// the GEMM's Z operand; each query head is copied out with a padded stride.
void Engine::attend(Scratch& s, int64_t n, int64_t nh, int64_t nkv, int64_t hd, int64_t hd_v) {
  resize(s.attn, n * nh * hd_v);
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int64_t group = nh / nkv;
  const GemmFn gemm = gemm_f32();
  const int64_t k_size = packed_z_size(hd, n), v_size = packed_z_size(n, hd_v);
  Scratch::Attention& a = s.attention;
  resize(a.keys, nkv * k_size);
  resize(a.values, nkv * v_size);
  float* keys = a.keys.data();
  float* values = a.values.data();
  pool_.parallel_for(2 * nkv, 1, [&](int64_t begin, int64_t end, int) {
    for (int64_t job = begin; job < end; ++job) {
      const int64_t h = job / 2;
      if (job % 2 == 0)
        pack_z_transposed(s.k.data() + h * hd, nkv * hd, hd, n, keys + h * k_size, 0,
                          gemm_panel_count(n));
      else
        pack_z(s.v.data() + h * hd_v, nkv * hd_v, n, hd_v, values + h * v_size, 0,
               gemm_panel_count(hd_v));
    }
  });
  const int64_t ldq = hd + 16, lds = n + 16;  // strides off the 4 KiB multiples (see gemm.h)
  a.query.resize(static_cast<size_t>(pool_.size()));
  a.scores.resize(static_cast<size_t>(pool_.size()));
  pool_.parallel_for(nh, 1, [&](int64_t begin, int64_t end, int thread) {
    std::vector<float>& query = a.query[static_cast<size_t>(thread)];
    std::vector<float>& scores = a.scores[static_cast<size_t>(thread)];
    resize(query, n * ldq);
    resize(scores, n * lds);
    for (int64_t h = begin; h < end; ++h) {
      const int64_t kvh = h / group;
      for (int64_t t = 0; t < n; ++t)
        std::copy_n(s.q.data() + (t * nh + h) * hd, hd, query.data() + t * ldq);
      GemmArgs qk;
      qk.x = query.data();
      qk.ldx = ldq;
      qk.z = keys + kvh * k_size;
      qk.ldz = hd * kGemmPanelCols;
      qk.c = scores.data();
      qk.ldc = lds;
      qk.m = qk.n = n;
      qk.k = hd;
      qk.triangle = GemmTriangle::kColumnsUpToRow;
      gemm(qk);
      for (int64_t t = 0; t < n; ++t) {
        float* row = scores.data() + t * lds;
        ops::softmax(row, t + 1, scale);
        std::fill(row + t + 1, row + n, 0.0f);
      }
      GemmArgs pv;
      pv.x = scores.data();
      pv.ldx = lds;
      pv.z = values + kvh * v_size;
      pv.ldz = n * kGemmPanelCols;
      pv.c = s.attn.data() + h * hd_v;
      pv.ldc = nh * hd_v;
      pv.m = n;
      pv.n = hd_v;
      pv.k = n;
      pv.triangle = GemmTriangle::kDepthUpToRow;
      gemm(pv);
    }
  });
}

void Engine::ffn_block(int64_t il, Scratch& s, int64_t n) {
  const LayerWeights& L = weights_.layers[static_cast<size_t>(il)];
  const int64_t F = L.ffn_up.rows;
  const WeightRef& norm_w = L.ffn_norm.present() ? L.ffn_norm : L.post_attn_norm;
  rms_norm_rows(s.x.data(), norm_w, n, s.xn.data());
  resize(s.gate, n * F);
  resize(s.up, n * F);
  ctx_.observe(L.ffn_gate, s.xn.data(), n);
  ctx_.observe(L.ffn_up, s.xn.data(), n);
  matmul(ctx_, L.ffn_gate, 0, s.xn.data(), n, s.gate.data());
  matmul(ctx_, L.ffn_up, 0, s.xn.data(), n, s.up.data());
  pool_.parallel_for(n, kTokenGrain, [&](int64_t begin, int64_t end, int) {
    ops::swiglu(s.gate.data() + begin * F, s.up.data() + begin * F, (end - begin) * F,
                s.gate.data() + begin * F);
  });
  ctx_.observe(L.ffn_down, s.gate.data(), n);
  matmul(ctx_, L.ffn_down, 0, s.gate.data(), n, s.tmp.data());
  add_rows(s.tmp.data(), n, s.x.data());
}

}  // namespace qmix
