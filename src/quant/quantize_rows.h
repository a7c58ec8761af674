// Whole-tensor quantization and dequantization over rows, multithreaded, with input checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "core/error.h"
#include "core/thread_pool.h"
#include "quant/types.h"

namespace qmix {

enum class QuantAlgorithm {
  kBest,       // our search (same bytes layout, error <= the reference's)
  kReference,  // ggml's algorithm, for comparisons
};

struct QuantizeOptions {
  QuantAlgorithm algorithm = QuantAlgorithm::kBest;
  ThreadPool* pool = nullptr;  // null: run on the calling thread
};

// src holds rows*cols floats; dst must hold rows * row_bytes(cols). imatrix is empty or has
// cols entries. Errors: cols not a multiple of the block size, wrong buffer sizes, missing
// imatrix for a type that needs one, NaN/Inf input (naming the row and column).
Status quantize_rows(const QuantType& type, std::span<const float> src, int64_t rows, int64_t cols,
                     std::span<const float> imatrix, std::span<std::byte> dst,
                     const QuantizeOptions& options = {});

Status dequantize_rows(const QuantType& type, std::span<const std::byte> src, int64_t rows,
                       int64_t cols, std::span<float> dst, ThreadPool* pool = nullptr);

}  // namespace qmix
