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
};

}  // namespace qmix
