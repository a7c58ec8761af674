#include "convert/tensor_stream.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/fp16.h"
#include "quant/quantize_rows.h"

namespace qmix {
namespace {

float add_one(float x) { return x + 1.0f; }
float neg_exp(float x) { return -std::exp(x); }

// One row per ElementOp, in enum order.
constexpr std::array<float (*)(float), 3> kElementOps = {nullptr, add_one, neg_exp};

// Fills dst[0, cols) with output row `row` of the tensor.
void fill_row(const PlannedTensor& t, int64_t row, float* dst, std::vector<float>& scratch) {
  const int64_t src_row = t.row_map.empty() ? row : t.row_map[static_cast<size_t>(row)];
  const int64_t rows_per_source = t.rows / static_cast<int64_t>(t.sources.size());
  const SafetensorsTensor& src = *t.sources[static_cast<size_t>(src_row / rows_per_source)].tensor;
  const std::byte* bytes = src.data.data() + (src_row % rows_per_source) * t.cols * src.dtype->size;
  if (t.col_map.empty()) {
    src.dtype->to_f32(bytes, dst, t.cols);
  } else {
    scratch.resize(static_cast<size_t>(t.cols));
    src.dtype->to_f32(bytes, scratch.data(), t.cols);
    for (int64_t c = 0; c < t.cols; ++c) dst[c] = scratch[static_cast<size_t>(t.col_map[c])];
  }
  const auto op = kElementOps[static_cast<size_t>(t.op)];
  if (op == nullptr) return;
  for (int64_t c = 0; c < t.cols; ++c) {
    dst[c] = op(dst[c]);
    // llama.cpp transforms F16 sources in half precision (BF16 ones in f32).
    if (src.dtype->is_half) dst[c] = fp16_to_fp32(fp32_to_fp16(dst[c]));
  }
}

Status check_finite(const PlannedTensor& t, std::span<const float> values, int64_t first_row) {
  int64_t bad = 0, first_bad = -1;
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i])) {
      if (bad++ == 0) first_bad = static_cast<int64_t>(i);
    }
  if (bad == 0) return ok_status();
  const int64_t row = first_row + first_bad / t.cols;
  const int64_t src_row = t.row_map.empty() ? row : t.row_map[static_cast<size_t>(row)];
  const int64_t rows_per_source = t.rows / static_cast<int64_t>(t.sources.size());
  const auto& source = *t.sources[static_cast<size_t>(src_row / rows_per_source)].tensor;
  return make_error(ErrorCode::kBadData,
                    "tensor '{}' (from '{}'): {} NaN/Inf values in rows {}..{} (first at row {})",
                    t.name, source.name, bad, first_row,
                    first_row + static_cast<int64_t>(values.size()) / t.cols - 1,
                    src_row % rows_per_source);
}

}  // namespace

uint64_t planned_tensor_bytes(const PlannedTensor& t) {
  const QuantType& q = quant_type(t.type);
  const uint64_t rows = t.n_elements() / static_cast<uint64_t>(t.shape[0]);
  return rows * q.row_bytes(t.shape[0]).value_or(0);
}

Status encode_planned_tensor(const PlannedTensor& t, std::vector<std::byte>& out,
                             const TensorStreamOptions& options) {
  const QuantType& q = quant_type(t.type);
  const int64_t row_length = t.shape[0];
  out.resize(planned_tensor_bytes(t));
  // A chunk must hold whole output rows: 1-D tensors (one row of `rows` values) go at once.
  const int64_t chunk_rows =
      t.shape.size() == 1
          ? t.rows
          : std::max<int64_t>(1, static_cast<int64_t>(options.chunk_values) / t.cols);
  std::vector<float> values;
  uint64_t out_offset = 0;
  for (int64_t r0 = 0; r0 < t.rows; r0 += chunk_rows) {
    if (options.cancel != nullptr && options.cancel->cancelled())
      return make_error(ErrorCode::kCancelled, "cancelled");
    const int64_t n_rows = std::min(chunk_rows, t.rows - r0);
    values.resize(static_cast<size_t>(n_rows * t.cols));
    auto work = [&](int64_t begin, int64_t end, int) {
      std::vector<float> scratch;
      for (int64_t r = begin; r < end; ++r)
        fill_row(t, r0 + r, values.data() + r * t.cols, scratch);
    };
    if (options.pool != nullptr)
      options.pool->parallel_for(n_rows, std::max<int64_t>(1, 4096 / t.cols), work);
    else
      work(0, n_rows, 0);
    QMIX_TRY(check_finite(t, values, r0));
    const int64_t enc_rows = n_rows * t.cols / row_length;
    const uint64_t bytes = static_cast<uint64_t>(enc_rows) * q.row_bytes(row_length).value_or(0);
    QuantizeOptions qo;
    qo.algorithm = QuantAlgorithm::kReference;  // what llama.cpp's converter writes
    qo.pool = options.pool;
    const Status s = quantize_rows(q, values, enc_rows, row_length, {},
                                   std::span(out).subspan(out_offset, bytes), qo);
    if (!s.ok()) return s.error().with_context("tensor '" + t.name + "'");
    out_offset += bytes;
  }
  return ok_status();
}

}  // namespace qmix
