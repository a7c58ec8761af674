// Elementwise and normalisation operations of the forward pass (f32).
#pragma once

#include <cstdint>

namespace qmix::ops {

// y = x / sqrt(mean(x²) + eps) * weight, over n values.
void rms_norm(const float* x, const float* weight, float eps, int64_t n, float* y);

enum class RopeStyle {
  kNormal,  // rotates adjacent pairs (x[2i], x[2i+1]) — llama (weights permuted by the converter)
  kNeox,    // rotates (x[i], x[i + n_rot/2]) — Qwen
};

// Rotates the first n_rot values of each of n_heads vectors of head_dim, at position pos.
void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t n_rot, int64_t pos, float theta_base,
          RopeStyle style);

void softmax(float* x, int64_t n);
// out[i] = silu(gate[i]) * up[i]
void swiglu(const float* gate, const float* up, int64_t n, float* out);
float sigmoid(float x);

}  // namespace qmix::ops
