// Host entry points of the CUDA kernels (src/cuda/*.cu). All pointers are device pointers;
// every launch goes on `stream` and returns at once (errors surface at the next check).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "engine/ops.h"
#include "quant/ggml_type.h"

namespace qmix::cuda {

using bf16_bits = uint16_t;  // a bfloat16 as stored in device memory

// A weight matrix in device memory, in its GGUF type.
struct DeviceMatrix {
  GgmlType type = GgmlType::F32;
  const std::byte* data = nullptr;
  int64_t rows = 0, cols = 0;
  uint64_t row_bytes = 0;
};

// Types with a device decoder (the others are decoded on the host at upload).
bool has_decoder(GgmlType type);

// out[r][·] = the values of row (row_ids ? row_ids[r] : r) of w, bit for bit those of
// src/quant's reference dequantize. cols must be a multiple of 8.
void dequantize_f32(const DeviceMatrix& w, const int32_t* row_ids, int64_t rows, float* out,
                    cudaStream_t stream);
// The same values rounded to bfloat16 (to nearest even), all rows of w.
void dequantize_bf16(const DeviceMatrix& w, bf16_bits* out, cudaStream_t stream);

// Elementwise and normalisation kernels of the forward pass (f32 unless named otherwise).
void to_bf16(const float* x, int64_t n, bf16_bits* out, cudaStream_t stream);
// rows vectors of n values (row r at x + r * n): y = x / sqrt(mean(x²) + eps) * weight.
void rms_norm(const float* x, const float* weight, float eps, int64_t rows, int64_t n, float* y,
              cudaStream_t stream);
// x holds n_tokens rows of n_heads × head_dim; token t sits at position t.
void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, int64_t n_rot,
          float theta_base, ops::RopeStyle style, cudaStream_t stream);
// scores: n_heads matrices of n × n (query rows); row t becomes softmax(scale · row[0..t])
// followed by zeros.
void causal_softmax(float* scores, int64_t n_heads, int64_t n, float scale, cudaStream_t stream);
// out = silu(gate) * up
void swiglu(const float* gate, const float* up, int64_t n, float* out, cudaStream_t stream);
// qg holds per token and head [q | gate] (2 × head_dim); q and gate receive the halves.
void split_query_gate(const float* qg, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
                      float* q, float* gate, cudaStream_t stream);
// x *= sigmoid(gate)
void sigmoid_gate(float* x, const float* gate, int64_t n, cudaStream_t stream);
// sums[c] += Σ_r x[r][c]² (the observer's Σx², in double as the CPU collector keeps it).
void add_square_sums(const float* x, int64_t rows, int64_t cols, double* sums, cudaStream_t stream);

// Gated delta net (Qwen3.5 linear attention) of one layer over n tokens. qkv/conv rows hold
// [q (n_k × dk) | k (n_k × dk) | v (n_v × dv)]; value head h reads key head h mod n_k.
struct DeltaNetShape {
  int64_t n = 0, n_k = 0, n_v = 0, dk = 0, dv = 0, K = 0;  // K: conv kernel length
  int64_t channels() const { return 2 * n_k * dk + n_v * dv; }
};
// conv = silu(causal depthwise conv of qkv), q/k L2-normalised (q scaled by 1/√dk);
// a ← A · softplus(a + dt_bias) (log decay), b ← sigmoid(b) (write strength).
void delta_net_prepare(const DeltaNetShape& s, const float* qkv, const float* conv_w,
                       const float* A, const float* dt_bias, float* conv, float* a, float* b,
                       cudaStream_t stream);
// out (n × n_v × dv) = the delta rule's outputs from a zero state.
cudaError_t delta_net_recurrence(const DeltaNetShape& s, const float* conv, const float* g,
                                 const float* beta, float* out, cudaStream_t stream);
// o ← rms_norm(o) · weight · silu(z) per value head.
void delta_net_gated_norm(const DeltaNetShape& s, float* o, const float* z, const float* weight,
                          float eps, cudaStream_t stream);

// Pseudo-random bf16 values in [-1, 1) (for benchmarks: never time on zeros).
void fill_random_bf16(bf16_bits* x, int64_t n, uint32_t seed, cudaStream_t stream);

}  // namespace qmix::cuda
