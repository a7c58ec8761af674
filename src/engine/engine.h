// CPU forward pass over a GGUF model whose weights stay memory-mapped in their stored types.
// Evaluates whole chunks (prompt processing): positions 0..n-1 with causal attention.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "engine/backend.h"
#include "engine/matmul.h"
#include "engine/ops.h"
#include "engine/weights.h"
#include "gguf/gguf_model.h"
#include "model/hparams.h"

namespace qmix {

struct EngineOptions {
  int threads = 0;  // 0 = all cores
  MatmulMode mode = MatmulMode::kAuto;
  MatmulObserver* observer = nullptr;
  // Set: a device backend (e.g. CUDA) runs eval(); empty: the CPU forward pass below.
  BackendFactory backend{};
};

class Engine {
 public:
  // The model must outlive the engine (weights are views into its mapping).
  static Expected<std::unique_ptr<Engine>> create(const GgufModel& model,
                                                  const EngineOptions& options);

  // Runs tokens[0..n) from position 0 and returns the logits of positions
  // [logits_from, n) as (n - logits_from) rows of n_vocab floats.
  Expected<std::vector<float>> eval(std::span<const int32_t> tokens, int64_t logits_from = 0);

  const HParams& hparams() const { return hp_; }
  int64_t n_vocab() const { return weights_.output.rows; }
  void set_observer(MatmulObserver* observer);
  // "cpu", or the device backend's name.
  std::string_view device_name() const { return backend_ ? backend_->name() : "cpu"; }

 private:
  Engine(const HParams& hp, ModelWeights weights, const EngineOptions& options);
  // Activations of one eval() call; rows are tokens.
  struct Scratch {
    std::vector<float> x, xn, q, k, v, attn, tmp, gate, up, act;
    // Linear-attention layers, kept across layers so each eval maps their pages once.
    struct GatedDeltaNet {
      std::vector<float> qkv, conv, z, decay, beta, core;
    } delta_net;
    // Attention's packed keys and values and each thread's query and score rows, kept across
    // layers: fresh buffers per layer cost page faults and zeroing (≈ 10 % of a 512-token
    // prompt on the anchor shape).
    struct Attention {
      std::vector<float> keys, values;
      std::vector<std::vector<float>> query, scores;  // per pool thread
    } attention;
    ops::RopeTable rope;
    Scratch(int64_t n, int64_t n_embd)
        : x(static_cast<size_t>(n * n_embd)), xn(x.size()), tmp(x.size()) {}
  };

  void attention_block(int64_t il, Scratch& s, int64_t n);
  void gated_delta_block(int64_t il, Scratch& s, int64_t n);
  void delta_net_inputs(int64_t il, Scratch& s, int64_t n);
  void ffn_block(int64_t il, Scratch& s, int64_t n);
  void moe_block(int64_t il, Scratch& s, int64_t n);
  // Over the rows of n tokens, spread across the pool: y = rms_norm(x) · w, and x += delta.
  void rms_norm_rows(const float* x, const WeightRef& w, int64_t n, float* y);
  void add_rows(const float* delta, int64_t n, float* x);
  void split_query_gate(Scratch& s, int64_t n, int64_t nh, int64_t hd);
  void attend(Scratch& s, int64_t n, int64_t n_head, int64_t n_head_kv, int64_t hd, int64_t hd_v);
  // f32 copy of a small tensor (norm weights, SSM parameters), made once at creation.
  const float* small(const WeightRef& w) const;
  Status cache_small_tensors();

  HParams hp_;
  ModelWeights weights_;
  ThreadPool pool_;
  MatmulContext ctx_;
  MatmulWorkspace workspace_;
  ops::RopeStyle rope_style_;
  bool norm_topk_ = true;
  std::unordered_map<const std::byte*, std::vector<float>> small_;
  std::unique_ptr<ForwardBackend> backend_;
};

}  // namespace qmix
