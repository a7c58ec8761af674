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
  // format's dot kernel runs per (row, token), as ggml does: for checking agreement with ggml.
  kQuantizedActivations,
  // Panels of weight rows are dequantized to f32 and multiplied with the f32 activations by a
  // register-blocked GEMM: exact in the weights' own values and, for whole chunks, the fastest
  // path (each weight is decoded once per chunk, not once per token).
  kExactF32,
};

// Buffers the exact path reuses from one matmul to the next (allocating them per call costs
// page faults on every call). Used by one matmul at a time.
struct MatmulWorkspace {
  struct PerThread {
    std::vector<float> weights;   // a panel of dequantized weight rows
    std::vector<float> products;  // their products with every token, rows × tokens
  };
  std::vector<float> activations_t;  // the activations packed transposed: cols × tokens
  std::vector<PerThread> threads;
};

struct MatmulContext {
  ThreadPool* pool = nullptr;
  MatmulMode mode = MatmulMode::kExactF32;
  MatmulObserver* observer = nullptr;
  MatmulWorkspace* workspace = nullptr;  // optional; a matmul without one allocates its own

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
