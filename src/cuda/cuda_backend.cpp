#include "cuda/cuda_backend.h"

#include "cuda/cuda_engine.h"

namespace qmix::cuda {

Expected<DeviceInfo> device_info() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0)
    return make_error(ErrorCode::kUnsupported, "no CUDA device available ({})",
                      e != cudaSuccess ? cudaGetErrorString(e) : "the driver lists none");
  cudaDeviceProp p{};
  QMIX_TRY(check(cudaGetDeviceProperties(&p, 0), "cudaGetDeviceProperties"));
  DeviceInfo info;
  info.name = p.name;
  info.compute_major = p.major;
  info.compute_minor = p.minor;
  info.multiprocessors = p.multiProcessorCount;
  info.memory_bytes = p.totalGlobalMem;
  if (p.major < 8)
    return make_error(ErrorCode::kUnsupported,
                      "CUDA device '{}' has compute capability {}.{}; bf16 GEMMs need 8.0 or newer",
                      info.name, p.major, p.minor);
  return info;
}

BackendFactory backend_factory() {
  return [](const BackendInputs& in) -> Expected<std::unique_ptr<ForwardBackend>> {
    QMIX_TRY(device_info());
    return CudaEngine::create(in);
  };
}

namespace {

template <class T>
Expected<std::vector<T>> download(const DeviceBuffer<T>& d, int64_t count) {
  std::vector<T> host(static_cast<size_t>(count));
  QMIX_TRY(check(cudaMemcpy(host.data(), d.get(), host.size() * sizeof(T), cudaMemcpyDeviceToHost),
                 "copy to host"));
  return host;
}

}  // namespace

Expected<std::vector<float>> device_dequantize_f32(const WeightRef& w) {
  QMIX_TRY(device_info());
  QMIX_TRY_ASSIGN(DeviceWeight d, upload_matrix(w));
  DeviceBuffer<float> out;
  QMIX_TRY(out.reserve(d.m.rows * d.m.cols));
  dequantize_f32(d.m, nullptr, d.m.rows, out.get(), nullptr);
  QMIX_TRY(check_launch("dequantize_f32"));
  return download(out, d.m.rows * d.m.cols);
}

Expected<std::vector<uint16_t>> device_dequantize_bf16(const WeightRef& w) {
  QMIX_TRY(device_info());
  QMIX_TRY_ASSIGN(DeviceWeight d, upload_matrix(w));
  DeviceBuffer<bf16_bits> out;
  QMIX_TRY(out.reserve(d.m.rows * d.m.cols));
  dequantize_bf16(d.m, out.get(), nullptr);
  QMIX_TRY(check_launch("dequantize_bf16"));
  return download(out, d.m.rows * d.m.cols);
}

Expected<std::vector<float>> device_matmul(const WeightRef& w, std::span<const float> x,
                                           int64_t n) {
  QMIX_TRY(device_info());
  QMIX_TRY_ASSIGN(DeviceWeight d, upload_matrix(w));
  QMIX_TRY_ASSIGN(DeviceMatmul mm, DeviceMatmul::create());
  DeviceBuffer<float> xd, y;
  QMIX_TRY(xd.upload(x.data(), n * w.cols));
  QMIX_TRY(y.reserve(n * w.rows));
  QMIX_TRY(mm.set_input(xd.get(), n, w.cols));
  QMIX_TRY(mm.multiply(d.m, y.get()));
  return download(y, n * w.rows);
}

}  // namespace qmix::cuda
