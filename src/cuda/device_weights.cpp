#include "cuda/device_weights.h"

#include <vector>

#include "core/fp16.h"

namespace qmix::cuda {
namespace {

// Host decode of a type without a device decoder: rows → bf16 (what the GEMM would see).
std::vector<bf16_t> host_decode_bf16(const WeightRef& w) {
  std::vector<bf16_t> out(static_cast<size_t>(w.rows * w.experts * w.cols));
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int64_t e = 0; e < w.experts; ++e)
    for (int64_t r = 0; r < w.rows; ++r) {
      dequantize_row(w, e, r, row.data());
      bf16_t* dst = out.data() + (e * w.rows + r) * w.cols;
      for (int64_t c = 0; c < w.cols; ++c) dst[c] = fp32_to_bf16(row[static_cast<size_t>(c)]);
    }
  return out;
}

}  // namespace

Expected<DeviceWeight> upload_matrix(const WeightRef& w) {
  if (w.cols % 8 != 0)
    return make_error(ErrorCode::kUnsupported,
                      "tensor '{}': {} columns (the CUDA backend needs a multiple of 8)", w.name,
                      w.cols);
  DeviceWeight d;
  d.m.rows = w.rows * w.experts;
  d.m.cols = w.cols;
  if (has_decoder(w.type->id)) {
    d.m.type = w.type->id;
    d.m.row_bytes = w.row_bytes;
    const int64_t bytes = static_cast<int64_t>(w.row_bytes) * d.m.rows;
    QMIX_TRY(d.storage.upload(w.data, bytes));
  } else {
    const std::vector<bf16_t> host = host_decode_bf16(w);
    d.m.type = GgmlType::BF16;
    d.m.row_bytes = static_cast<uint64_t>(w.cols) * sizeof(bf16_t);
    QMIX_TRY(d.storage.upload(reinterpret_cast<const std::byte*>(host.data()),
                              static_cast<int64_t>(host.size() * sizeof(bf16_t))));
  }
  d.m.data = d.storage.get();
  return d;
}

Expected<DeviceBuffer<float>> upload_vector(const WeightRef& w) {
  std::vector<float> host(static_cast<size_t>(w.cols * w.rows * w.experts));
  for (int64_t e = 0; e < w.experts; ++e)
    for (int64_t r = 0; r < w.rows; ++r)
      dequantize_row(w, e, r, host.data() + (e * w.rows + r) * w.cols);
  DeviceBuffer<float> d;
  QMIX_TRY(d.upload(host.data(), static_cast<int64_t>(host.size())));
  return d;
}

Expected<DeviceWeight> decode_to_bf16(const DeviceWeight& w) {
  DeviceWeight d;
  d.m = w.m;
  d.m.type = GgmlType::BF16;
  d.m.row_bytes = static_cast<uint64_t>(w.m.cols) * sizeof(bf16_t);
  QMIX_TRY(d.storage.reserve(w.m.rows * w.m.cols * static_cast<int64_t>(sizeof(bf16_t))));
  d.m.data = d.storage.get();
  dequantize_bf16(w.m, reinterpret_cast<bf16_bits*>(d.storage.get()), nullptr);
  QMIX_TRY(check_launch("dequantize_bf16"));
  return d;
}

Status DeviceWeightSet::add_matrix(const WeightRef& w) {
  if (!w.present() || matrices_.count(w.data)) return ok_status();
  auto d = upload_matrix(w);
  if (!d.ok()) return d.error().with_context(w.name);
  if (residency_ == Residency::kDecodedOnce && d->m.type != GgmlType::BF16) {
    auto decoded = decode_to_bf16(*d);
    if (!decoded.ok()) return decoded.error().with_context(w.name);
    d = std::move(decoded).value();
  }
  bytes_ += static_cast<uint64_t>(d->storage.size());
  matrices_.emplace(w.data, std::move(d).value());
  return ok_status();
}

Status DeviceWeightSet::add_vector(const WeightRef& w) {
  if (!w.present() || vectors_.count(w.data)) return ok_status();
  QMIX_TRY_ASSIGN(DeviceBuffer<float> d, upload_vector(w));
  bytes_ += static_cast<uint64_t>(d.size()) * sizeof(float);
  vectors_.emplace(w.data, std::move(d));
  return ok_status();
}

const DeviceMatrix& DeviceWeightSet::matrix(const WeightRef& w) const {
  const auto it = matrices_.find(w.data);
  QMIX_CHECK(it != matrices_.end());
  return it->second.m;
}

const float* DeviceWeightSet::vector(const WeightRef& w) const {
  if (!w.present()) return nullptr;
  const auto it = vectors_.find(w.data);
  QMIX_CHECK(it != vectors_.end());
  return it->second.get();
}

}  // namespace qmix::cuda
