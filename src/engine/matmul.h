// y[t][r] = Σ_c W[r][c] · x[t][c] over a weight tensor in its GGUF type.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/fp16.h"

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
  // The panels and the activations rounded to bf16 (relative error ≤ 2^-9 per operand) and
  // multiplied by the AVX-512 BF16 GEMM with f32 sums: twice the f32 GEMM's multiply-adds per
  // instruction. Where the CPU lacks AVX-512 BF16 this is kExactF32.
  kBf16,
  // kBf16 for quantized weights, whose own rounding (and ggml's Q8 activations) is of the same
  // order or larger, and kExactF32 for float weights (f32/f16/bf16), which reference
  // comparisons against transformers need exact. The engine's default.
  kAuto,
};

// "f32", "bf16", "auto" or "ggml-dots" (the CLI's --matmul values).
std::string_view matmul_mode_name(MatmulMode mode);
Expected<MatmulMode> matmul_mode_by_name(std::string_view name);

// Buffers the exact path reuses from one matmul to the next (allocating them per call costs
// page faults on every call). Used by one matmul at a time.
struct MatmulWorkspace {
  struct PerThread {
    std::vector<float> weights;        // a panel of dequantized weight rows
    std::vector<float> products;       // their products with every token, rows × tokens
    std::vector<bf16_t> weights_bf16;  // the bf16 path's panel
  };
  std::vector<float> activations_t;      // the activations packed transposed: cols × tokens
  std::vector<bf16_t> activations_bf16;  // the same in bf16 pairs (gemm.h)
  std::vector<PerThread> threads;
};

struct MatmulContext {
  ThreadPool* pool = nullptr;
  MatmulMode mode = MatmulMode::kAuto;
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
