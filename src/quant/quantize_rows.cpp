#include "quant/quantize_rows.h"

#include <cmath>

namespace qmix {
namespace {

Status check_geometry(const QuantType& type, int64_t rows, int64_t cols, uint64_t* row_bytes) {
  if (rows < 0 || cols <= 0)
    return make_error(ErrorCode::kInvalidArgument, "invalid shape {} x {}", rows, cols);
  const auto rb = type.row_bytes(cols);
  if (!rb)
    return make_error(ErrorCode::kInvalidArgument,
                      "row length {} is not a multiple of {}'s block size {}", cols, type.name,
                      type.block_size);
  *row_bytes = *rb;
  return ok_status();
}

Status check_finite(std::span<const float> src, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = src.data() + r * cols;
    for (int64_t c = 0; c < cols; ++c)
      if (!std::isfinite(row[c]))
        return make_error(ErrorCode::kBadData, "non-finite value {} at row {}, column {}", row[c],
                          r, c);
  }
  return ok_status();
}

}  // namespace

Status quantize_rows(const QuantType& type, std::span<const float> src, int64_t rows, int64_t cols,
                     std::span<const float> imatrix, std::span<std::byte> dst,
                     const QuantizeOptions& options) {
  uint64_t row_bytes = 0;
  QMIX_TRY(check_geometry(type, rows, cols, &row_bytes));
  const QuantKernels& k = active_kernels(type);
  const QuantizeRowFn fn =
      options.algorithm == QuantAlgorithm::kReference ? k.quantize_reference : k.quantize;
  if (fn == nullptr)
    return make_error(ErrorCode::kUnsupported, "quantization to {} is not implemented", type.name);
  if (src.size() != static_cast<size_t>(rows * cols))
    return make_error(ErrorCode::kInvalidArgument, "source has {} values, expected {}", src.size(),
                      rows * cols);
  if (dst.size() != row_bytes * static_cast<uint64_t>(rows))
    return make_error(ErrorCode::kInvalidArgument, "destination has {} bytes, expected {}",
                      dst.size(), row_bytes * static_cast<uint64_t>(rows));
  if (!imatrix.empty() && imatrix.size() != static_cast<size_t>(cols))
    return make_error(ErrorCode::kInvalidArgument, "imatrix has {} columns but the rows have {}",
                      imatrix.size(), cols);
  if (imatrix.empty() && type.needs_imatrix)
    return make_error(ErrorCode::kInvalidArgument, "type {} needs an imatrix", type.name);
  QMIX_TRY(check_finite(src, rows, cols));

  const float* im = imatrix.empty() ? nullptr : imatrix.data();
  auto work = [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; ++r)
      fn(src.data() + r * cols, dst.data() + static_cast<uint64_t>(r) * row_bytes, cols, im);
  };
  if (options.pool != nullptr)
    options.pool->parallel_for(rows, 1, work);
  else
    work(0, rows, 0);
  return ok_status();
}

Status dequantize_rows(const QuantType& type, std::span<const std::byte> src, int64_t rows,
                       int64_t cols, std::span<float> dst, ThreadPool* pool) {
  uint64_t row_bytes = 0;
  QMIX_TRY(check_geometry(type, rows, cols, &row_bytes));
  const DequantizeRowFn fn = active_kernels(type).dequantize;
  if (fn == nullptr)
    return make_error(ErrorCode::kUnsupported, "dequantization of {} is not implemented",
                      type.name);
  if (src.size() != row_bytes * static_cast<uint64_t>(rows) ||
      dst.size() != static_cast<size_t>(rows * cols))
    return make_error(ErrorCode::kInvalidArgument, "buffer sizes do not match {} x {} {}", rows,
                      cols, type.name);
  auto work = [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; ++r)
      fn(src.data() + static_cast<uint64_t>(r) * row_bytes, dst.data() + r * cols, cols);
  };
  if (pool != nullptr)
    pool->parallel_for(rows, 4, work);
  else
    work(0, rows, 0);
  return ok_status();
}

}  // namespace qmix
