// The device's measured ceilings (docs/performance.md compares the engine against them).
#include <algorithm>
#include <vector>

#include "cuda/cuda_backend.h"
#include "cuda/cuda_util.h"
#include "cuda/kernels.h"

namespace qmix::cuda {
namespace {

class Events {
 public:
  Events() {
    cudaEventCreate(&start_);
    cudaEventCreate(&stop_);
  }
  ~Events() {
    cudaEventDestroy(start_);
    cudaEventDestroy(stop_);
  }
  Events(const Events&) = delete;
  Events& operator=(const Events&) = delete;
  void start() { cudaEventRecord(start_); }
  Expected<double> stop_seconds() {
    cudaEventRecord(stop_);
    QMIX_TRY(check(cudaEventSynchronize(stop_), "cudaEventSynchronize"));
    float ms = 0;
    QMIX_TRY(check(cudaEventElapsedTime(&ms, start_, stop_), "cudaEventElapsedTime"));
    return ms / 1000.0;
  }

 private:
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Times `op` reps times (after one warm-up run), returns the median seconds.
template <class Op>
Expected<double> time_median(int reps, Op op) {
  Events ev;
  QMIX_TRY(op());
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    ev.start();
    QMIX_TRY(op());
    QMIX_TRY_ASSIGN(const double s, ev.stop_seconds());
    times.push_back(s);
  }
  return median(times);
}

}  // namespace

Expected<DevicePeaks> measure_peaks(int64_t size, int reps) {
  QMIX_TRY(device_info());
  QMIX_TRY_ASSIGN(Blas blas, Blas::create());
  DeviceBuffer<bf16_bits> a, b;
  DeviceBuffer<float> c;
  const int64_t elems = size * size;
  QMIX_TRY(a.reserve(elems));
  QMIX_TRY(b.reserve(elems));
  QMIX_TRY(c.reserve(elems));
  fill_random_bf16(a.get(), elems, 1, nullptr);
  fill_random_bf16(b.get(), elems, 2, nullptr);
  QMIX_TRY(check_launch("fill_random_bf16"));
  const int n = static_cast<int>(size);
  const float one = 1.0f, zero = 0.0f;
  QMIX_TRY_ASSIGN(const double gemm_s, time_median(reps, [&]() -> Status {
                    return check(
                        cublasGemmEx(blas.get(), CUBLAS_OP_T, CUBLAS_OP_N, n, n, n, &one, a.get(),
                                     CUDA_R_16BF, n, b.get(), CUDA_R_16BF, n, &zero, c.get(),
                                     CUDA_R_32F, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                        "cublasGemmEx");
                  }));
  // The copy: 2 GiB each way (far beyond L2).
  const int64_t copy_bytes = int64_t{1} << 31;
  DeviceBuffer<std::byte> src, dst;
  QMIX_TRY(src.reserve(copy_bytes));
  QMIX_TRY(dst.reserve(copy_bytes));
  QMIX_TRY(check(cudaMemset(src.get(), 1, static_cast<size_t>(copy_bytes)), "cudaMemset"));
  QMIX_TRY_ASSIGN(const double copy_s, time_median(reps, [&]() -> Status {
                    return check(cudaMemcpy(dst.get(), src.get(), static_cast<size_t>(copy_bytes),
                                            cudaMemcpyDeviceToDevice),
                                 "cudaMemcpy");
                  }));
  DevicePeaks p;
  p.bf16_tflops = 2.0 * static_cast<double>(size) * static_cast<double>(size) *
                  static_cast<double>(size) / gemm_s / 1e12;
  p.copy_gb_per_s = 2.0 * static_cast<double>(copy_bytes) / copy_s / 1e9;
  return p;
}

}  // namespace qmix::cuda
