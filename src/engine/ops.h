// Elementwise and normalisation operations of the forward pass (f32).
#pragma once

#include <cstdint>
#include <vector>

namespace qmix::ops {

// y = x / sqrt(mean(x²) + eps) * weight, over n values.
void rms_norm(const float* x, const float* weight, float eps, int64_t n, float* y);

enum class RopeStyle {
  kNormal,  // rotates adjacent pairs (x[2i], x[2i+1]) — llama (weights permuted by the converter)
  kNeox,    // rotates (x[i], x[i + n_rot/2]) — Qwen
};

// cos and sin of every (position, frequency) pair, computed once per evaluation instead of
// once per layer and head: [pos * n_rot/2 + i].
struct RopeTable {
  int64_t half = 0;
  std::vector<float> cos, sin;
};
RopeTable rope_table(int64_t n_pos, int64_t n_rot, float theta_base);

// Rotates the first n_rot values of each of n_heads vectors of head_dim, at position pos.
void rope(float* x, int64_t n_heads, int64_t head_dim, const RopeTable& table, int64_t pos,
          RopeStyle style);

// x[i] = exp(x[i] * scale - max) / Σ over n values (scale > 0).
void softmax(float* x, int64_t n, float scale = 1.0f);
// out[i] = silu(gate[i]) * up[i]
void swiglu(const float* gate, const float* up, int64_t n, float* out);
float sigmoid(float x);

// AVX2 kernels of softmax and swiglu (the vector exp of vec_exp.h, a few ulp from std::exp); the
// functions above call them when the CPU has AVX2.
void softmax_avx2(float* x, int64_t n, float scale);
void swiglu_avx2(const float* gate, const float* up, int64_t n, float* out);

}  // namespace qmix::ops
