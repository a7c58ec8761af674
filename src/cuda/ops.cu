// Elementwise, normalisation and reduction kernels of the forward pass. Sums run in f32 with
// warp/block reductions (the CPU sums in double: agreement is to rounding, not bits).
#include <cuda_bf16.h>

#include "cuda/kernels.h"

namespace qmix::cuda {
namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

__device__ float block_sum(float v) {
  __shared__ float partial[32];
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  __syncthreads();  // partial[] may still be read by an earlier call
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  v = lane < static_cast<int>(blockDim.x / 32) ? partial[lane] : 0.0f;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ float block_max(float v) {
  __shared__ float partial[32];
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  __syncthreads();
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  v = lane < static_cast<int>(blockDim.x / 32) ? partial[lane] : -INFINITY;
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__global__ void to_bf16_kernel(const float* x, int64_t n, __nv_bfloat16* out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = __float2bfloat16_rn(x[i]);
}

// One block per row.
__global__ void rms_norm_kernel(const float* x, const float* w, float eps, int64_t n, float* y) {
  const float* row = x + blockIdx.x * n;
  float s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += row[i] * row[i];
  const float scale = 1.0f / sqrtf(block_sum(s) / static_cast<float>(n) + eps);
  float* out = y + blockIdx.x * n;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
    out[i] = row[i] * scale * (w != nullptr ? w[i] : 1.0f);
}

// One thread per (token, rotated pair); the angle in double as the CPU computes it.
__global__ void rope_kernel(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
                            int64_t n_rot, float theta, bool adjacent) {
  const int64_t half = n_rot / 2;
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= n_tokens * half) return;
  const int64_t t = idx / half, i = idx % half;
  const double freq =
      pow(static_cast<double>(theta), -2.0 * static_cast<double>(i) / static_cast<double>(n_rot));
  double sd = 0, cd = 0;
  sincos(static_cast<double>(t) * freq, &sd, &cd);
  const float c = static_cast<float>(cd), s = static_cast<float>(sd);
  const int64_t a = adjacent ? 2 * i : i, b = adjacent ? 2 * i + 1 : i + half;
  for (int64_t h = 0; h < n_heads; ++h) {
    float* v = x + (t * n_heads + h) * head_dim;
    const float x0 = v[a], x1 = v[b];
    v[a] = x0 * c - x1 * s;
    v[b] = x0 * s + x1 * c;
  }
}

// One block per (head, query row t).
__global__ void causal_softmax_kernel(float* scores, int64_t n, float scale) {
  const int64_t t = blockIdx.x % n;
  float* row = scores + static_cast<int64_t>(blockIdx.x) * n;
  float mx = -INFINITY;
  for (int64_t u = threadIdx.x; u <= t; u += blockDim.x) mx = fmaxf(mx, row[u] * scale);
  mx = block_max(mx);
  float s = 0;
  for (int64_t u = threadIdx.x; u <= t; u += blockDim.x) {
    const float e = expf(row[u] * scale - mx);
    row[u] = e;
    s += e;
  }
  const float inv = 1.0f / block_sum(s);
  for (int64_t u = threadIdx.x; u < n; u += blockDim.x) row[u] = u <= t ? row[u] * inv : 0.0f;
}

__device__ __forceinline__ float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

__global__ void swiglu_kernel(const float* gate, const float* up, int64_t n, float* out) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = gate[i] * sigmoidf(gate[i]) * up[i];
}

__global__ void split_query_gate_kernel(const float* qg, int64_t heads_total, int64_t hd, float* q,
                                        float* gate) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= heads_total * hd) return;
  const int64_t h = i / hd, d = i % hd;
  q[i] = qg[h * 2 * hd + d];
  gate[i] = qg[h * 2 * hd + hd + d];
}

__global__ void sigmoid_gate_kernel(float* x, const float* gate, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) x[i] *= sigmoidf(gate[i]);
}

// One thread per column, all rows: coalesced across the warp, no atomics.
__global__ void square_sums_kernel(const float* x, int64_t rows, int64_t cols, double* sums) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  double s = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const double v = x[r * cols + c];
    s += v * v;
  }
  sums[c] += s;
}

__global__ void fill_random_bf16_kernel(__nv_bfloat16* x, int64_t n, uint32_t seed) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  uint32_t h = static_cast<uint32_t>(i) * 0x9E3779B1u ^ seed;  // integer hash (xorshift-mul)
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  x[i] = __float2bfloat16_rn(static_cast<float>(h) * (2.0f / 4294967296.0f) - 1.0f);
}

}  // namespace

void fill_random_bf16(bf16_bits* x, int64_t n, uint32_t seed, cudaStream_t stream) {
  fill_random_bf16_kernel<<<blocks_for(n), kThreads, 0, stream>>>(
      reinterpret_cast<__nv_bfloat16*>(x), n, seed);
}

void to_bf16(const float* x, int64_t n, bf16_bits* out, cudaStream_t stream) {
  to_bf16_kernel<<<blocks_for(n), kThreads, 0, stream>>>(x, n,
                                                         reinterpret_cast<__nv_bfloat16*>(out));
}

void rms_norm(const float* x, const float* weight, float eps, int64_t rows, int64_t n, float* y,
              cudaStream_t stream) {
  const int threads = n >= 1024 ? 1024 : (n >= 256 ? 256 : 64);
  rms_norm_kernel<<<static_cast<unsigned>(rows), threads, 0, stream>>>(x, weight, eps, n, y);
}

void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, int64_t n_rot,
          float theta_base, ops::RopeStyle style, cudaStream_t stream) {
  rope_kernel<<<blocks_for(n_tokens * (n_rot / 2)), kThreads, 0, stream>>>(
      x, n_tokens, n_heads, head_dim, n_rot, theta_base, style == ops::RopeStyle::kNormal);
}

void causal_softmax(float* scores, int64_t n_heads, int64_t n, float scale, cudaStream_t stream) {
  causal_softmax_kernel<<<static_cast<unsigned>(n_heads * n), kThreads, 0, stream>>>(scores, n,
                                                                                     scale);
}

void swiglu(const float* gate, const float* up, int64_t n, float* out, cudaStream_t stream) {
  swiglu_kernel<<<blocks_for(n), kThreads, 0, stream>>>(gate, up, n, out);
}

void split_query_gate(const float* qg, int64_t n_tokens, int64_t n_heads, int64_t head_dim,
                      float* q, float* gate, cudaStream_t stream) {
  split_query_gate_kernel<<<blocks_for(n_tokens * n_heads * head_dim), kThreads, 0, stream>>>(
      qg, n_tokens * n_heads, head_dim, q, gate);
}

void sigmoid_gate(float* x, const float* gate, int64_t n, cudaStream_t stream) {
  sigmoid_gate_kernel<<<blocks_for(n), kThreads, 0, stream>>>(x, gate, n);
}

void add_square_sums(const float* x, int64_t rows, int64_t cols, double* sums,
                     cudaStream_t stream) {
  square_sums_kernel<<<blocks_for(cols), kThreads, 0, stream>>>(x, rows, cols, sums);
}

}  // namespace qmix::cuda
