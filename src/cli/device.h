// `--device cpu|cuda`: which backend runs the engine's forward pass.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"
#include "engine/backend.h"

namespace qmix::cli {

inline constexpr std::string_view kDeviceHelp =
    "forward pass on: cpu, or cuda (builds configured with -DQMIX_CUDA=ON, needs a GPU)";

// An empty factory for "cpu"; the CUDA backend's for "cuda" (an error in builds without it).
Expected<BackendFactory> backend_for_device(std::string_view device);

// The device's measured ceilings (bf16 GEMM rate, copy bandwidth), for benchmarks that report
// the fraction of them they reach.
struct DeviceCeilings {
  std::string name;
  double bf16_tflops = 0, copy_gb_per_s = 0;
};
Expected<DeviceCeilings> measure_device_ceilings(std::string_view device);

}  // namespace qmix::cli
