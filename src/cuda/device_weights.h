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

// Device copies keyed by the host tensor they mirror (tied tensors are stored once).
class DeviceWeightSet {
 public:
  Status add_matrix(const WeightRef& w);
  Status add_vector(const WeightRef& w);
  const DeviceMatrix& matrix(const WeightRef& w) const;  // must have been added
  const float* vector(const WeightRef& w) const;         // null for an absent tensor
  uint64_t device_bytes() const { return bytes_; }

 private:
  std::unordered_map<const std::byte*, DeviceWeight> matrices_;
  std::unordered_map<const std::byte*, DeviceBuffer<float>> vectors_;
  uint64_t bytes_ = 0;
};

}  // namespace qmix::cuda
