// CUDA runtime and cuBLAS errors as qmix Errors, and device memory as RAII buffers.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "core/error.h"

namespace qmix::cuda {

Status check(cudaError_t e, std::string_view what);
Status check(cublasStatus_t s, std::string_view what);
// The first error any earlier launch on this thread left behind.
Status check_launch(std::string_view what);

// A typed allocation in device memory (cudaMalloc: the device tool's notes advise against
// managed memory). Grows only; contents are not kept across reserve().
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), count_(std::exchange(o.count_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(count_, o.count_);
    return *this;
  }
  ~DeviceBuffer() {
    if (ptr_ != nullptr) cudaFree(ptr_);
  }

  Status reserve(int64_t count) {
    if (count <= count_) return ok_status();
    if (ptr_ != nullptr) cudaFree(ptr_);
    ptr_ = nullptr;
    count_ = 0;
    void* p = nullptr;
    QMIX_TRY(check(cudaMalloc(&p, static_cast<size_t>(count) * sizeof(T)), "cudaMalloc"));
    ptr_ = static_cast<T*>(p);
    count_ = count;
    return ok_status();
  }
  Status upload(const T* host, int64_t count) {
    QMIX_TRY(reserve(count));
    return check(
        cudaMemcpy(ptr_, host, static_cast<size_t>(count) * sizeof(T), cudaMemcpyHostToDevice),
        "cudaMemcpy to device");
  }
  T* get() const { return ptr_; }
  int64_t size() const { return count_; }

 private:
  T* ptr_ = nullptr;
  int64_t count_ = 0;
};

// cuBLAS handle bound to the default stream.
class Blas {
 public:
  static Expected<Blas> create();
  Blas(const Blas&) = delete;
  Blas(Blas&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  ~Blas();
  cublasHandle_t get() const { return h_; }

 private:
  explicit Blas(cublasHandle_t h) : h_(h) {}
  cublasHandle_t h_ = nullptr;
};

}  // namespace qmix::cuda
