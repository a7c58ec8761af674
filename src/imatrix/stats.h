// Per-tensor statistics of an importance matrix, grouped by zones of blocks.
//
// Definitions (docs/imatrix.md): a tensor's channel importance is E[x²] of each input channel,
// Σx² / rows; for MoE tensors the experts are pooled, Σ_e Σx² / Σ_e rows, so an expert counts
// as often as it was routed to. The tensor's mean importance is the average over channels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "imatrix/imatrix.h"

namespace qmix {

// A channel counts as dominant when its importance is at least this many times the mean.
inline constexpr double kDominantFactor = 5.0;

struct TensorStats {
  std::string name;
  int block = -1;    // -1 outside blk.N
  std::string kind;  // the name without "blk.N." ("ffn_down.weight"): same kind across blocks
  int64_t channels = 0;
  int64_t rows = 0;     // activation rows seen (all experts)
  double sum = 0;       // Σ over channels of E[x²]
  double mean = 0;      // sum / channels
  double max = 0;       // largest channel importance
  double cv = 0;        // standard deviation / mean across channels
  double share = 0;     // mean / Σ of every tensor's mean
  double dominant = 0;  // fraction of channels ≥ kDominantFactor × mean
  double max_over_mean() const { return mean > 0 ? max / mean : 0; }
};

struct ZoneStats {
  int first_block = 0, last_block = 0;
  std::vector<std::string> kinds;  // columns, shared by every zone
  std::vector<double> mean;        // per kind: average tensor mean importance (NaN if absent)
  double all = 0;                  // average over every tensor of the zone
};

struct ImatrixStats {
  std::vector<TensorStats> tensors;  // in file order (by name)
  std::vector<ZoneStats> zones;      // blocks grouped `zone_size` at a time
  std::vector<size_t> top;           // indices into `tensors`, by mean importance, descending
};

struct StatsOptions {
  int zone_size = 8;  // blocks per zone
  int top = 12;       // length of the top list
};

// The channel importance vector (pooled over experts); zeros where no row was seen.
std::vector<double> channel_importance(const ImatrixEntry& entry);
// "blk.12.ffn_down.weight" → {12, "ffn_down.weight"}.
std::pair<int, std::string> block_and_kind(const std::string& name);

ImatrixStats compute_stats(const Imatrix& imatrix, const StatsOptions& options = {});

}  // namespace qmix
