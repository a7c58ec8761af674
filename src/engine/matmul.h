// y[t][r] = Σ_c W[r][c] · x[t][c] over a weight tensor in its GGUF type.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "engine/observer.h"
#include "engine/weights.h"

namespace qmix {

enum class MatmulMode {
  // Activations are converted to the weight type's dot partner (Q8_0/Q8_1/Q8_K/F32) and the
  // format's dot kernel runs, as ggml does: the fast path.
  kQuantizedActivations,
  // Every weight row is dequantized to f32 and multiplied in f32: the exact reference.
  kExactF32,
};

struct MatmulContext {
  ThreadPool* pool = nullptr;
  MatmulMode mode = MatmulMode::kQuantizedActivations;
  MatmulObserver* observer = nullptr;

  // Reports a matmul input to the observer (if any).
  void observe(const WeightRef& w, const float* x, int64_t rows,
               std::span<const int32_t> expert_of_row = {}) const {
    if (observer != nullptr) observer->on_matmul(w, x, rows, w.cols, expert_of_row);
  }
};

// x: n_tokens rows of w.cols floats; y: n_tokens rows of w.rows floats. `expert` selects the
// slice of a stacked MoE tensor (0 for dense weights). Does not call the observer.
void matmul(const MatmulContext& ctx, const WeightRef& w, int64_t expert, const float* x,
            int64_t n_tokens, float* y);

}  // namespace qmix
