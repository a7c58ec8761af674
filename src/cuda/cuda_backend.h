// The optional CUDA backend (built with -DQMIX_CUDA=ON). Plain C++: callers need no CUDA
// headers. The engine reaches it only through engine/backend.h.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "engine/backend.h"
#include "engine/weights.h"

namespace qmix::cuda {

struct DeviceInfo {
  std::string name;
  int compute_major = 0, compute_minor = 0, multiprocessors = 0;
  uint64_t memory_bytes = 0;
};

// The first CUDA device, or a clear error when there is none (no driver, no GPU).
Expected<DeviceInfo> device_info();

// A factory for EngineOptions::backend: the whole forward pass on the first CUDA device.
BackendFactory backend_factory();

// The device's two ceilings, measured (not datasheet): a cuBLAS bf16 GEMM of size³ (f32
// accumulation) on random data, and a large device-to-device copy counting bytes read plus
// written. Medians of `reps` timed runs after a warm-up.
struct DevicePeaks {
  double bf16_tflops = 0;
  double copy_gb_per_s = 0;
};
Expected<DevicePeaks> measure_peaks(int64_t size = 8192, int reps = 10);

// Single-operation entry points for tests and benchmarks (each uploads w and syncs).
// All values of w (rows × cols per expert) decoded on the device, as f32 and as bf16 bits.
Expected<std::vector<float>> device_dequantize_f32(const WeightRef& w);
Expected<std::vector<uint16_t>> device_dequantize_bf16(const WeightRef& w);
// y = x · Wᵀ for n rows of x through the backend's matmul (bf16 GEMM, f32 accumulation).
Expected<std::vector<float>> device_matmul(const WeightRef& w, std::span<const float> x, int64_t n);

}  // namespace qmix::cuda
