// One evaluation pass of a model over a token stream: perplexity, and optionally the base
// distributions saved for later KLD runs, or the KL-divergence against such a saved base.
// This is what `qmix perplexity` and `qmix compare` run for every model and text.
#pragma once

#include <filesystem>
#include <optional>
#include <vector>

#include "eval/kld.h"
#include "eval/perplexity.h"

namespace qmix {

struct EvalOptions {
  int64_t n_ctx = 512;
  int64_t max_chunks = -1;  // -1: all complete chunks (or as many as the KLD base holds)
  std::optional<int32_t> bos_token;
  std::filesystem::path save_logits;  // non-empty: write the base-logits file here
  std::filesystem::path kld_base;     // non-empty: compare against this base-logits file
  int top_k = 64;                     // distributions kept per token in a saved file
  ProgressSink* progress = nullptr;
  const CancelToken* cancel = nullptr;
  std::function<void(int64_t chunk, double running_ppl)> on_chunk;
};

struct EvalOutcome {
  PerplexityResult ppl;
  std::vector<TokenComparison> comparisons;  // per scored token, when kld_base is set
  std::optional<KldReport> kld;
};

Expected<EvalOutcome> evaluate(Engine& engine, std::span<const int32_t> tokens,
                               const EvalOptions& options);

// Hash identifying the tokens a run with n_chunks chunks of n_ctx evaluates.
uint64_t evaluated_tokens_hash(std::span<const int32_t> tokens, int64_t n_ctx, int64_t n_chunks);

}  // namespace qmix
