// Random-weight models with real shapes and metadata, streamed to disk tensor by tensor
// (multi-GB models need little memory): inputs for benchmarks anyone can regenerate.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "core/error.h"
#include "core/progress.h"
#include "model/hparams.h"
#include "quant/types.h"

namespace qmix {

struct SynthSpec {
  Arch arch = Arch::kQwen3;
  int64_t layers = 4, hidden = 256, ffn = 512, heads = 4, kv_heads = 2,
          head_dim = 0;  // 0: hidden/heads
  int64_t vocab = 4096;
  int64_t experts = 0, experts_used = 0, expert_ffn = 0;
  bool tied_embeddings = false;
  // Hybrid (qwen35): every `full_attention_interval`-th layer is full attention.
  int64_t full_attention_interval = 4, linear_k_heads = 0, linear_v_heads = 0, linear_head_dim = 0;
  GgmlType type = GgmlType::BF16;
  double sigma = 0.02;
  uint64_t seed = 1;
  std::optional<std::filesystem::path> tokenizer_from;  // copy tokenizer.* keys from this GGUF
};

// Named shapes: "qwen3-0.6b", "qwen3-8b", "qwen3.6-27b", "llama-3-8b", "anchor" (the shape of
// ../shared/anchors.md: 28 layers, hidden 1024, FFN 3072, 16/8 heads, head_dim 128, vocab 4096).
Expected<SynthSpec> synth_shape(std::string_view name);
std::string synth_shape_names();

// The hyper-parameters a model written from `spec` has (without writing it): for sizing
// models too big to generate, e.g. `qmix fit --shape qwen3.6-27b`.
Expected<HParams> synth_hparams(const SynthSpec& spec);

// Number of weights (all tensors' elements) of a model written from `spec`.
Expected<int64_t> synth_weight_count(const SynthSpec& spec);

Status write_synthetic_model(const SynthSpec& spec, const std::filesystem::path& out,
                             ProgressSink* progress = nullptr);

}  // namespace qmix
