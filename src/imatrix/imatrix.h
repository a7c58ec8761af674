// Importance matrices in memory: for every weight matrix, the sum of squared activations per
// input channel and the number of activation rows that went into it (per expert for MoE).
// Sums rather than means are kept so files merge and convert without losing weight.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace qmix {

struct ImatrixEntry {
  std::string name;       // the weight tensor's name ("blk.0.attn_q.weight")
  int64_t n_per_row = 0;  // input channels (the weight's row length)
  // Σx² per (matrix, channel), matrix-major: n_mat() × n_per_row values.
  std::vector<double> sum_sq;
  // Σx per (matrix, channel) when known (llama.cpp's newer `.in_sum`); otherwise empty.
  std::vector<double> sum;
  // Activation rows seen per matrix: one for a dense weight, one per expert for MoE.
  std::vector<int64_t> counts;
  // Optional per-chunk totals, in chunk order: Σx² over every channel and matrix, and rows
  // seen (qmix's `--chunk-stats`, for confidence intervals over chunks). Empty or equal sizes.
  std::vector<double> chunk_sum_sq;
  std::vector<int64_t> chunk_counts;

  int64_t n_mat() const { return static_cast<int64_t>(counts.size()); }
  int64_t total_count() const;
  std::span<const double> sum_sq_of(int64_t mat) const;
  // E[x²] per channel of one matrix. Where a matrix saw no rows the value is 1 (uniform
  // importance), llama-quantize's convention for experts the calibration never reached.
  std::vector<float> mean_sq(int64_t mat) const;
  // E[x²] of every matrix, matrix-major (what a quantizer receives for a 3-D expert tensor).
  std::vector<float> mean_sq_all() const;
  // Checks sizes and values (finite, non-negative); names the tensor.
  Status validate() const;
};

struct Imatrix {
  std::vector<ImatrixEntry> entries;  // sorted by name
  int64_t chunk_count = 0;            // chunks of calibration text processed
  int64_t chunk_size = 0;             // tokens per chunk; 0 when unknown
  std::vector<std::string> datasets;  // calibration files, in the order they were used

  const ImatrixEntry* find(std::string_view name) const;
  ImatrixEntry* find(std::string_view name);
  void sort_entries();
  Status validate() const;
  // Chunk size for formats that need one: the recorded one, else derived from the largest
  // count and the chunk count, else llama-imatrix's historical default of 512.
  int64_t effective_chunk_size() const;
};

}  // namespace qmix
