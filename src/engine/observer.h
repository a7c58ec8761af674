// The engine's one window onto activations: every weight matmul reports its input rows here.
// The imatrix collector and sensitivity probes implement it; the engine knows neither.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "quant/types.h"

namespace qmix {

struct WeightRef;

class MatmulObserver {
 public:
  virtual ~MatmulObserver() = default;
  // x holds `rows` activation rows of `cols` values (the matmul's input). For MoE expert
  // tensors, expert_of_row[i] names the expert that row i was routed to (one row per
  // (token, expert) pair); it is empty for dense weights. Called from the engine's calling
  // thread, never concurrently.
  virtual void on_matmul(const WeightRef& w, const float* x, int64_t rows, int64_t cols,
                         std::span<const int32_t> expert_of_row) = 0;

  // Device backends keep activations in device memory: copying every matmul input to the host
  // would cost more than the forward pass. An observer that needs only Σx² per input column
  // (imatrix) says so here and then receives, once per eval() and per weight, the sums over
  // all rows of that call instead of on_matmul. sum_sq holds experts × cols values and
  // rows_per_expert the rows each expert's sums cover. Observers that need the rows keep the
  // default and are sent the rows (copied to the host).
  virtual bool accepts_square_sums() const { return false; }
  virtual void on_square_sums(const WeightRef& /*w*/, std::span<const double> /*sum_sq*/,
                              std::span<const int64_t> /*rows_per_expert*/) {}
};

}  // namespace qmix
