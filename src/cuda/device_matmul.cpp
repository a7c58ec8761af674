#include "cuda/device_matmul.h"

namespace qmix::cuda {

Expected<DeviceMatmul> DeviceMatmul::create() {
  QMIX_TRY_ASSIGN(Blas blas, Blas::create());
  return DeviceMatmul(std::move(blas));
}

Status DeviceMatmul::set_input(const float* x, int64_t n, int64_t cols) {
  QMIX_TRY(x_bf16_.reserve(n * cols));
  to_bf16(x, n * cols, x_bf16_.get(), nullptr);
  n_ = n;
  cols_ = cols;
  return check_launch("to_bf16");
}

Status DeviceMatmul::multiply(const DeviceMatrix& w, float* y, float beta) {
  if (w.cols != cols_)
    return make_error(ErrorCode::kInternal, "matmul: weight has {} columns, input {}", w.cols,
                      cols_);
  const void* wb = w.data;
  if (w.type != GgmlType::BF16) {
    QMIX_TRY(w_bf16_.reserve(w.rows * w.cols));
    dequantize_bf16(w, w_bf16_.get(), nullptr);
    QMIX_TRY(check_launch("dequantize"));
    wb = w_bf16_.get();
  }
  // Row-major y[n][rows] is column-major rows × n: y = Wᵀ(op T of the column-major cols × rows
  // view of W) · x (column-major cols × n).
  const float alpha = 1.0f;
  return check(cublasGemmEx(blas_.get(), CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(w.rows),
                            static_cast<int>(n_), static_cast<int>(w.cols), &alpha, wb, CUDA_R_16BF,
                            static_cast<int>(w.cols), x_bf16_.get(), CUDA_R_16BF,
                            static_cast<int>(cols_), &beta, y, CUDA_R_32F, static_cast<int>(w.rows),
                            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
               "cublasGemmEx");
}

}  // namespace qmix::cuda
