#include "cli/device.h"

#ifdef QMIX_HAVE_CUDA
#include "cuda/cuda_backend.h"
#endif

namespace qmix::cli {

Expected<BackendFactory> backend_for_device(std::string_view device) {
  if (device == "cpu") return BackendFactory{};
  if (device == "cuda") {
#ifdef QMIX_HAVE_CUDA
    return cuda::backend_factory();
#else
    return make_error(ErrorCode::kUnsupported,
                      "--device cuda: this qmix was built without CUDA (configure with "
                      "-DQMIX_CUDA=ON)");
#endif
  }
  return make_error(ErrorCode::kInvalidArgument, "--device must be cpu or cuda (got '{}')", device);
}

Expected<DeviceCeilings> measure_device_ceilings(std::string_view device) {
#ifdef QMIX_HAVE_CUDA
  if (device == "cuda") {
    QMIX_TRY_ASSIGN(const cuda::DeviceInfo info, cuda::device_info());
    QMIX_TRY_ASSIGN(const cuda::DevicePeaks peaks, cuda::measure_peaks());
    return DeviceCeilings{info.name, peaks.bf16_tflops, peaks.copy_gb_per_s};
  }
#endif
  return make_error(ErrorCode::kUnsupported, "no device ceilings to measure for '{}'", device);
}

}  // namespace qmix::cli
