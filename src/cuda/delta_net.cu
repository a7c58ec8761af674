// Kernels of the Qwen3.5 gated delta net layers (engine_delta_net.cpp is the CPU original):
// causal depthwise conv + SiLU, the q/k normalisation and gate/decay inputs, the token-by-token
// delta rule recurrence (one block per value head, one state column per thread), and the
// gated output norm.
#include "cuda/kernels.h"

namespace qmix::cuda {
namespace {

constexpr int kThreads = 256;
unsigned blocks_for(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

__device__ __forceinline__ float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }
__device__ __forceinline__ float softplusf(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

__global__ void conv_silu_kernel(const float* in, const float* w, int64_t n, int64_t channels,
                                 int64_t K, float* out) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= n * channels) return;
  const int64_t t = idx / channels, c = idx % channels;
  float acc = 0;
  for (int64_t i = 0; i < K; ++i) {
    const int64_t src = t + i - (K - 1);
    if (src >= 0) acc += w[c * K + i] * in[src * channels + c];
  }
  out[idx] = acc * sigmoidf(acc);
}

// One warp per (token, key head): L2-normalise q and k (q also scaled by 1/√dk).
__global__ void normalize_qk_kernel(float* conv, int64_t n, int64_t channels, int64_t n_k,
                                    int64_t dk) {
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (warp >= n * n_k * 2) return;
  const int64_t t = warp / (n_k * 2), h = (warp / 2) % n_k, is_k = warp % 2;
  float* x = conv + t * channels + is_k * n_k * dk + h * dk;
  float s = 0;
  for (int64_t i = lane; i < dk; i += 32) s += x[i] * x[i];
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
  float inv = 1.0f / sqrtf(s + 1e-6f);
  if (!is_k) inv /= sqrtf(static_cast<float>(dk));
  for (int64_t i = lane; i < dk; i += 32) x[i] *= inv;
}

__global__ void decay_beta_kernel(float* a, float* b, const float* A, const float* dt_bias,
                                  int64_t n, int64_t n_v) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= n * n_v) return;
  const int64_t h = idx % n_v;
  a[idx] = A[h] * softplusf(a[idx] + dt_bias[h]);
  b[idx] = sigmoidf(b[idx]);
}

// Block = value head h, thread j owns state column S[·][j] (dk values in shared memory):
//   S = e^g S;  δ_j = β (v_j − Σ_i S_ij k_i);  S_ij += k_i δ_j;  o_j = Σ_i S_ij q_i.
__global__ void delta_rule_kernel(const float* conv, const float* g, const float* beta, int64_t n,
                                  int64_t channels, int64_t n_k, int64_t n_v, int64_t dk,
                                  int64_t dv, float* out) {
  extern __shared__ float smem[];
  float* S = smem;             // dk × dv
  float* qk = smem + dk * dv;  // q then k of the current token
  const int64_t h = blockIdx.x, kh = h % n_k;
  for (int64_t i = threadIdx.x; i < dk * dv; i += blockDim.x) S[i] = 0;
  for (int64_t t = 0; t < n; ++t) {
    const float* row = conv + t * channels;
    __syncthreads();
    for (int64_t i = threadIdx.x; i < dk; i += blockDim.x) {
      qk[i] = row[kh * dk + i];
      qk[dk + i] = row[n_k * dk + kh * dk + i];
    }
    __syncthreads();
    const float decay = expf(g[t * n_v + h]), b = beta[t * n_v + h];
    for (int64_t j = threadIdx.x; j < dv; j += blockDim.x) {
      const float v = row[2 * n_k * dk + h * dv + j];
      float kv = 0;
      for (int64_t i = 0; i < dk; ++i) {
        S[i * dv + j] *= decay;
        kv += S[i * dv + j] * qk[dk + i];
      }
      const float delta = (v - kv) * b;
      float o = 0;
      for (int64_t i = 0; i < dk; ++i) {
        S[i * dv + j] += qk[dk + i] * delta;
        o += S[i * dv + j] * qk[i];
      }
      out[t * n_v * dv + h * dv + j] = o;
    }
  }
}

// o ← rms_norm(o) · weight · silu(z), per (token, value head) row of dv values.
__global__ void gated_norm_kernel(float* o, const float* z, const float* weight, float eps,
                                  int64_t dv) {
  float* row = o + static_cast<int64_t>(blockIdx.x) * dv;
  const float* gate = z + static_cast<int64_t>(blockIdx.x) * dv;
  __shared__ float partial[32];
  float s = 0;
  for (int64_t i = threadIdx.x; i < dv; i += blockDim.x) s += row[i] * row[i];
  for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = s;
  __syncthreads();
  s = 0;
  for (unsigned w = 0; w < blockDim.x / 32; ++w) s += partial[w];
  const float scale = 1.0f / sqrtf(s / static_cast<float>(dv) + eps);
  for (int64_t i = threadIdx.x; i < dv; i += blockDim.x)
    row[i] = row[i] * scale * weight[i] * (gate[i] * sigmoidf(gate[i]));
}

}  // namespace

void delta_net_prepare(const DeltaNetShape& s, const float* qkv, const float* conv_w,
                       const float* A, const float* dt_bias, float* conv, float* a, float* b,
                       cudaStream_t stream) {
  const int64_t channels = s.channels();
  conv_silu_kernel<<<blocks_for(s.n * channels), kThreads, 0, stream>>>(qkv, conv_w, s.n, channels,
                                                                        s.K, conv);
  normalize_qk_kernel<<<blocks_for(s.n * s.n_k * 2 * 32), kThreads, 0, stream>>>(
      conv, s.n, channels, s.n_k, s.dk);
  decay_beta_kernel<<<blocks_for(s.n * s.n_v), kThreads, 0, stream>>>(a, b, A, dt_bias, s.n, s.n_v);
}

cudaError_t delta_net_recurrence(const DeltaNetShape& s, const float* conv, const float* g,
                                 const float* beta, float* out, cudaStream_t stream) {
  const size_t smem = static_cast<size_t>(s.dk * s.dv + 2 * s.dk) * sizeof(float);
  const cudaError_t e = cudaFuncSetAttribute(
      delta_rule_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem));
  if (e != cudaSuccess) return e;
  const int threads = s.dv >= 128 ? 128 : static_cast<int>((s.dv + 31) / 32 * 32);
  delta_rule_kernel<<<static_cast<unsigned>(s.n_v), threads, smem, stream>>>(
      conv, g, beta, s.n, s.channels(), s.n_k, s.n_v, s.dk, s.dv, out);
  return cudaSuccess;
}

void delta_net_gated_norm(const DeltaNetShape& s, float* o, const float* z, const float* weight,
                          float eps, cudaStream_t stream) {
  const int threads = s.dv >= 128 ? 128 : 32;
  gated_norm_kernel<<<static_cast<unsigned>(s.n * s.n_v), threads, 0, stream>>>(o, z, weight, eps,
                                                                                s.dv);
}

}  // namespace qmix::cuda
