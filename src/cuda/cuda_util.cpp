#include "cuda/cuda_util.h"

namespace qmix::cuda {

Status check(cudaError_t e, std::string_view what) {
  if (e == cudaSuccess) return ok_status();
  return make_error(ErrorCode::kIo, "CUDA: {}: {} ({})", what, cudaGetErrorString(e),
                    cudaGetErrorName(e));
}

Status check(cublasStatus_t s, std::string_view what) {
  if (s == CUBLAS_STATUS_SUCCESS) return ok_status();
  return make_error(ErrorCode::kIo, "cuBLAS: {}: {}", what, cublasGetStatusString(s));
}

Status check_launch(std::string_view what) { return check(cudaGetLastError(), what); }

Expected<Blas> Blas::create() {
  cublasHandle_t h = nullptr;
  QMIX_TRY(check(cublasCreate(&h), "cublasCreate"));
  return Blas(h);
}

Blas::~Blas() {
  if (h_ != nullptr) cublasDestroy(h_);
}

}  // namespace qmix::cuda
