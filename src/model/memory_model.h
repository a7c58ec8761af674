// How much memory a model needs to run at a given context: weights + KV cache (full-attention
// layers only) + recurrent state (linear-attention layers of hybrids, fixed per sequence) +
// an estimate of the compute buffers. The formula is documented with a worked example in
// docs/fit.md; `qmix fit` inverts it to find the largest context that fits a VRAM budget.
#pragma once

#include <cstdint>

#include "model/hparams.h"
#include "quant/types.h"

namespace qmix {

struct MemoryRequest {
  int64_t n_ctx = 4096;
  GgmlType k_type = GgmlType::F16, v_type = GgmlType::F16;
  int64_t n_seq = 1;       // parallel sequences (each has its own recurrent state)
  int64_t n_ubatch = 512;  // tokens per compute step (llama.cpp's -ub)
  bool flash_attention = true;
  uint64_t runtime_overhead = 512ull << 20;  // driver context, allocator slack (documented guess)
};

struct MemoryEstimate {
  uint64_t weights = 0, kv_cache = 0, recurrent_state = 0, compute = 0, overhead = 0;
  uint64_t total() const { return weights + kv_cache + recurrent_state + compute + overhead; }
};

// KV-cache bytes one token of context costs (all sequences' worth is n_seq times larger only
// when contexts are not shared; llama.cpp splits n_ctx between sequences, so this is per token
// of total context). Quantized cache types use their block size (q8_0: 34 bytes / 32 values).
uint64_t kv_bytes_per_token(const HParams& hp, GgmlType k_type, GgmlType v_type);

// Conv + delta-rule state of every linear-attention layer for one sequence (f32, as llama.cpp).
uint64_t recurrent_state_bytes(const HParams& hp);

// Compute buffers: logits for a ubatch, FFN/attention intermediates, and without flash attention
// the KQ score matrix (n_head × n_ubatch × n_ctx f32).
uint64_t compute_buffer_bytes(const HParams& hp, const MemoryRequest& request);

MemoryEstimate estimate_memory(const HParams& hp, uint64_t weight_bytes,
                               const MemoryRequest& request);

// Largest n_ctx (a multiple of 256, as llama.cpp pads) whose estimate fits `budget`;
// 0 if not even 256 tokens fit. request.n_ctx is ignored.
int64_t max_context(const HParams& hp, uint64_t weight_bytes, uint64_t budget,
                    MemoryRequest request);

}  // namespace qmix
