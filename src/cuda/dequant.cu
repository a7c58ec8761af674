// Decoders of the GGUF block formats, eight values per thread, mirroring src/quant's reference
// dequantize operation for operation: products and differences are written with the _rn
// intrinsics so that nvcc cannot fuse them into FMAs (the host code rounds each one), which
// makes the f32 results bit-identical to the CPU's.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <array>

#include "cuda/kernels.h"

namespace qmix::cuda {
namespace {

__device__ __forceinline__ float half_at(const uint8_t* p) {
  return __half2float(__ushort_as_half(static_cast<unsigned short>(p[0] | p[1] << 8)));
}

// Each decoder: kValues values in kBytes bytes per block; decode8 writes values 8g..8g+7.
struct F32Decoder {
  static constexpr int kValues = 8, kBytes = 32;
  __device__ static void decode8(const uint8_t* b, int, float* v) {
    for (int i = 0; i < 8; ++i) v[i] = reinterpret_cast<const float*>(b)[i];
  }
};
struct F16Decoder {
  static constexpr int kValues = 8, kBytes = 16;
  __device__ static void decode8(const uint8_t* b, int, float* v) {
    for (int i = 0; i < 8; ++i) v[i] = half_at(b + 2 * i);
  }
};
struct BF16Decoder {
  static constexpr int kValues = 8, kBytes = 16;
  __device__ static void decode8(const uint8_t* b, int, float* v) {
    for (int i = 0; i < 8; ++i)
      v[i] = __uint_as_float(static_cast<uint32_t>(b[2 * i] | b[2 * i + 1] << 8) << 16);
  }
};
struct Q8_0Decoder {  // d (f16), 32 × int8
  static constexpr int kValues = 32, kBytes = 34;
  __device__ static void decode8(const uint8_t* b, int g, float* v) {
    const float d = half_at(b);
    const int8_t* qs = reinterpret_cast<const int8_t*>(b + 2) + 8 * g;
    for (int i = 0; i < 8; ++i) v[i] = __fmul_rn(static_cast<float>(qs[i]), d);
  }
};

// q4_K/q5_K: 6-bit scale and min of sub-block j (ggml's get_scale_min_k4).
__device__ __forceinline__ void scale_min_k4(const uint8_t* s, int j, int& sc, int& m) {
  if (j < 4) {
    sc = s[j] & 63;
    m = s[j + 4] & 63;
  } else {
    sc = (s[j + 4] & 0xF) | (s[j - 4] >> 6) << 4;
    m = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
  }
}

// Affine k-quant value: (d · scale) · level − (dmin · min), each product rounded.
__device__ __forceinline__ void affine8(const uint8_t* b, int v0, const int* level, float* v) {
  int sc = 0, m = 0;
  scale_min_k4(b + 4, v0 / 32, sc, m);
  const float dl = __fmul_rn(half_at(b), static_cast<float>(sc));
  const float ml = __fmul_rn(half_at(b + 2), static_cast<float>(m));
  for (int i = 0; i < 8; ++i) v[i] = __fsub_rn(__fmul_rn(dl, static_cast<float>(level[i])), ml);
}

struct Q4_KDecoder {  // d, dmin, scales[12], qs[128]: byte l of 64-value chunk c holds l | l+32
  static constexpr int kValues = 256, kBytes = 144;
  __device__ static void decode8(const uint8_t* b, int g, float* v) {
    const int v0 = 8 * g, c = v0 / 64, l0 = v0 % 64;
    const uint8_t* qs = b + 16 + 32 * c;
    int level[8];
    for (int i = 0; i < 8; ++i) level[i] = l0 < 32 ? qs[l0 + i] & 0xF : qs[l0 - 32 + i] >> 4;
    affine8(b, v0, level, v);
  }
};
struct Q5_KDecoder {  // d, dmin, scales[12], qh[32], qs[128]; fifth bits 2c / 2c+1 of qh[l]
  static constexpr int kValues = 256, kBytes = 176;
  __device__ static void decode8(const uint8_t* b, int g, float* v) {
    const int v0 = 8 * g, c = v0 / 64, l0 = v0 % 64;
    const uint8_t* qh = b + 16;
    const uint8_t* qs = b + 48 + 32 * c;
    int level[8];
    for (int i = 0; i < 8; ++i) {
      const int l = l0 < 32 ? l0 + i : l0 - 32 + i;
      const int shift = l0 < 32 ? 2 * c : 2 * c + 1;
      level[i] = (l0 < 32 ? qs[l] & 0xF : qs[l] >> 4) | ((qh[l] >> shift) & 1) << 4;
    }
    affine8(b, v0, level, v);
  }
};
struct Q6_KDecoder {  // ql[128], qh[64], scales[16] (int8), d
  static constexpr int kValues = 256, kBytes = 210;
  __device__ static void decode8(const uint8_t* b, int g, float* v) {
    const int v0 = 8 * g, h = v0 / 128, k = (v0 % 128) / 32, l0 = v0 % 32;
    const uint8_t* ql = b + 64 * h + 32 * (k % 2);
    const uint8_t* qh = b + 128 + 32 * h;
    const int scale = static_cast<int8_t>(b[192 + v0 / 16]);
    const float dl = __fmul_rn(half_at(b + 208), static_cast<float>(scale));
    for (int i = 0; i < 8; ++i) {
      const int l = l0 + i;
      const int level = ((ql[l] >> (4 * (k / 2))) & 0xF) | ((qh[l] >> (2 * k)) & 3) << 4;
      v[i] = __fmul_rn(dl, static_cast<float>(level - 32));
    }
  }
};

__constant__ int8_t kIq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                  1,    13,   25,  38,  53,  69,  89,  113};

struct IQ4_XSDecoder {  // d, scales_h (u16), scales_l[4], qs[128]: 32-value sub-blocks
  static constexpr int kValues = 256, kBytes = 136;
  __device__ static void decode8(const uint8_t* b, int g, float* v) {
    const int v0 = 8 * g, ib = v0 / 32, j0 = v0 % 32;
    const int scales_h = b[2] | b[3] << 8;
    const int low = (b[4 + ib / 2] >> (4 * (ib % 2))) & 0xF;
    const int scale = (low | ((scales_h >> (2 * ib)) & 3) << 4) - 32;
    const float dl = __fmul_rn(half_at(b), static_cast<float>(scale));
    const uint8_t* qs = b + 8 + 16 * ib;
    for (int i = 0; i < 8; ++i) {
      const int level = j0 < 16 ? qs[j0 + i] & 0xF : qs[j0 - 16 + i] >> 4;
      v[i] = __fmul_rn(dl, static_cast<float>(kIq4nl[level]));
    }
  }
};

__device__ __forceinline__ void store8(float* out, const float* v) {
  reinterpret_cast<float4*>(out)[0] = make_float4(v[0], v[1], v[2], v[3]);
  reinterpret_cast<float4*>(out)[1] = make_float4(v[4], v[5], v[6], v[7]);
}
__device__ __forceinline__ void store8(__nv_bfloat16* out, const float* v) {
  uint4 packed;
  uint32_t* w = &packed.x;
  for (int i = 0; i < 4; ++i) {
    const __nv_bfloat162 pair = __floats2bfloat162_rn(v[2 * i], v[2 * i + 1]);
    w[i] = *reinterpret_cast<const uint32_t*>(&pair);
  }
  *reinterpret_cast<uint4*>(out) = packed;
}

// blockIdx.x/threadIdx.x walk the 8-value groups of a row, blockIdx.y the rows.
template <class D, class Out>
__global__ void dequantize_kernel(const uint8_t* w, uint64_t row_bytes, int64_t cols,
                                  const int32_t* row_ids, int64_t rows, Out* out) {
  const int64_t group = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (group >= cols / 8) return;
  const int64_t v0 = group * 8;
  const int64_t block = v0 / D::kValues;
  const int g = static_cast<int>(v0 % D::kValues) / 8;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const int64_t src = row_ids != nullptr ? row_ids[r] : r;
    float v[8];
    D::decode8(w + src * row_bytes + block * D::kBytes, g, v);
    store8(out + r * cols + v0, v);
  }
}

template <class D, class Out>
void launch(const DeviceMatrix& m, const int32_t* row_ids, int64_t rows, Out* out,
            cudaStream_t stream) {
  constexpr int kThreads = 128;
  const int64_t groups = m.cols / 8;
  const dim3 grid(static_cast<unsigned>((groups + kThreads - 1) / kThreads),
                  static_cast<unsigned>(rows < 32768 ? rows : 32768));
  dequantize_kernel<D, Out><<<grid, kThreads, 0, stream>>>(reinterpret_cast<const uint8_t*>(m.data),
                                                           m.row_bytes, m.cols, row_ids, rows, out);
}

// The decoder table: one row per type with a device decoder.
struct DecoderEntry {
  GgmlType type;
  void (*to_f32)(const DeviceMatrix&, const int32_t*, int64_t, float*, cudaStream_t);
  void (*to_bf16)(const DeviceMatrix&, const int32_t*, int64_t, __nv_bfloat16*, cudaStream_t);
};

template <class D>
constexpr DecoderEntry entry(GgmlType t) {
  return {t, launch<D, float>, launch<D, __nv_bfloat16>};
}

const std::array kDecoders = {
    entry<F32Decoder>(GgmlType::F32),   entry<F16Decoder>(GgmlType::F16),
    entry<BF16Decoder>(GgmlType::BF16), entry<Q8_0Decoder>(GgmlType::Q8_0),
    entry<Q4_KDecoder>(GgmlType::Q4_K), entry<Q5_KDecoder>(GgmlType::Q5_K),
    entry<Q6_KDecoder>(GgmlType::Q6_K), entry<IQ4_XSDecoder>(GgmlType::IQ4_XS),
};

const DecoderEntry* find_decoder(GgmlType type) {
  for (const auto& e : kDecoders)
    if (e.type == type) return &e;
  return nullptr;
}

}  // namespace

bool has_decoder(GgmlType type) { return find_decoder(type) != nullptr; }

void dequantize_f32(const DeviceMatrix& w, const int32_t* row_ids, int64_t rows, float* out,
                    cudaStream_t stream) {
  find_decoder(w.type)->to_f32(w, row_ids, rows, out, stream);
}

void dequantize_bf16(const DeviceMatrix& w, bf16_bits* out, cudaStream_t stream) {
  find_decoder(w.type)->to_bf16(w, nullptr, w.rows, reinterpret_cast<__nv_bfloat16*>(out), stream);
}

}  // namespace qmix::cuda
