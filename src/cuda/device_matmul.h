// y = x · Wᵀ on the device: W decoded from its GGUF type to bf16 (in place for bf16 weights),
// x rounded to bf16, one cuBLAS GEMM with f32 accumulation and output.
#pragma once

#include "cuda/cuda_util.h"
#include "cuda/kernels.h"

namespace qmix::cuda {

class DeviceMatmul {
 public:
  static Expected<DeviceMatmul> create();

  // Rounds x (n × cols f32, device) to bf16 for the products that follow; products sharing an
  // input (q/k/v, gate/up) convert it once.
  Status set_input(const float* x, int64_t n, int64_t cols);
  // y (n × w.rows, device) = x · Wᵀ + beta · y. w.cols must equal the input's cols.
  Status multiply(const DeviceMatrix& w, float* y, float beta = 0.0f);
  cublasHandle_t blas() const { return blas_.get(); }

 private:
  explicit DeviceMatmul(Blas blas) : blas_(std::move(blas)) {}
  Blas blas_;
  DeviceBuffer<bf16_bits> x_bf16_, w_bf16_;
  int64_t n_ = 0, cols_ = 0;
};

}  // namespace qmix::cuda
