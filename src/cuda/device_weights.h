// Weights copied to the device: matrices in their GGUF type where a device decoder exists
// (others are decoded on the host once and stored as bf16, the type the GEMM takes anyway),
// vectors (norms, SSM parameters) as f32.
#pragma once

#include <cstddef>
#include <unordered_map>

#include "cuda/cuda_util.h"
#include "cuda/kernels.h"
#include "engine/weights.h"

namespace qmix::cuda {

struct DeviceWeight {
  DeviceMatrix m;  // all experts stacked (rows × experts)
  DeviceBuffer<std::byte> storage;
};

Expected<DeviceWeight> upload_matrix(const WeightRef& w);
// All values of a (small) tensor as f32.
Expected<DeviceBuffer<float>> upload_vector(const WeightRef& w);

// How matrices live on the device: in their GGUF type, decoded into a bf16 scratch matrix
// before every product (least memory), or decoded to bf16 once at upload (quantized models
// then run at bf16 speed, at 2 bytes per weight).
enum class Residency { kDecodeEachPass, kDecodedOnce };

// Device copies keyed by the host tensor they mirror (tied tensors are stored once).
class DeviceWeightSet {
 public:
  explicit DeviceWeightSet(Residency residency = Residency::kDecodeEachPass)
      : residency_(residency) {}
  Status add_matrix(const WeightRef& w);
  Status add_vector(const WeightRef& w);
  const DeviceMatrix& matrix(const WeightRef& w) const;  // must have been added
  const float* vector(const WeightRef& w) const;         // null for an absent tensor
  uint64_t device_bytes() const { return bytes_; }

 private:
  std::unordered_map<const std::byte*, DeviceWeight> matrices_;
  std::unordered_map<const std::byte*, DeviceBuffer<float>> vectors_;
  Residency residency_;
  uint64_t bytes_ = 0;
};

// bf16 copy of a device matrix (the original is released by the caller).
Expected<DeviceWeight> decode_to_bf16(const DeviceWeight& w);

}  // namespace qmix::cuda
