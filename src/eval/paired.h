// Paired comparison of two variants evaluated on identical tokens: the per-token NLL
// differences, their mean ± standard error, and a bootstrap confidence interval that resamples
// whole chunks (tokens inside a chunk are correlated, chunks much less so).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/error.h"

namespace qmix {

struct PairedOptions {
  int64_t tokens_per_chunk = 0;  // > 0: bootstrap over chunks of this many scored tokens
  int bootstrap_samples = 2000;
  double confidence = 0.95;
  uint64_t seed = 12345;
};

struct PairedResult {
  int64_t tokens = 0, chunks = 0;
  double mean_delta = 0;           // mean(nll_b − nll_a): > 0 means A is better
  double std_error = 0;            // token-level standard error of the mean
  double ci_low = 0, ci_high = 0;  // bootstrap interval over chunks
  bool distinguishable = false;    // the interval excludes 0
};

Expected<PairedResult> paired_compare(std::span<const double> nll_a, std::span<const double> nll_b,
                                      const PairedOptions& options);

}  // namespace qmix
