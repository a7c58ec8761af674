// Perplexity the llama-perplexity way: non-overlapping chunks of n_ctx tokens; if the model
// adds BOS the first token of each chunk is replaced by BOS; the logits at positions
// n_ctx/2 .. n_ctx-2 predict the next token; PPL = exp(mean NLL) and its error
// PPL · sqrt(var(NLL) / (N - 1)).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "core/error.h"
#include "core/progress.h"
#include "engine/engine.h"

namespace qmix {

// Sees the full distribution of every scored token (for KLD, logit dumps).
// logits: n_vocab floats predicting `target`.
using ScoredTokenSink = std::function<Status(int64_t chunk, int64_t position,
                                             std::span<const float> logits, int32_t target)>;

struct PerplexityOptions {
  int64_t n_ctx = 512;
  int64_t max_chunks = -1;           // -1: all complete chunks
  std::optional<int32_t> bos_token;  // set: replace the first token of each chunk with it
  ProgressSink* progress = nullptr;
  const CancelToken* cancel = nullptr;
  ScoredTokenSink on_scored_token;  // optional
  // Called after each chunk with the running estimate (for the per-chunk printout).
  std::function<void(int64_t chunk, double running_ppl)> on_chunk;
};

struct PerplexityResult {
  double ppl = 0, ppl_err = 0, mean_nll = 0;
  int64_t chunks = 0, scored_tokens = 0;
  std::vector<double> nll;             // per scored token, in order
  std::vector<double> chunk_mean_nll;  // per chunk
  double seconds = 0;
  double tokens_per_second = 0;  // evaluated (not only scored) tokens per second
};

struct NllStats {
  double mean = 0, ppl = 0, ppl_err = 0;
};
// The summary llama-perplexity prints, from per-token NLLs.
NllStats summarize_nll(std::span<const double> nll);

// Negative log-likelihood of `target` under softmax(logits), in double precision.
double token_nll(std::span<const float> logits, int32_t target);

Expected<PerplexityResult> perplexity(Engine& engine, std::span<const int32_t> tokens,
                                      const PerplexityOptions& options);

}  // namespace qmix
