#include "gguf/gguf_split_writer.h"

#include "core/checked.h"
#include "gguf/gguf_model.h"

namespace qmix {

GgufSplitWriter::GgufSplitWriter(uint64_t max_shard_bytes, uint32_t alignment)
    : plan_(alignment), max_shard_bytes_(max_shard_bytes), alignment_(alignment) {}

std::vector<size_t> GgufSplitWriter::plan_shard_sizes() const {
  std::vector<size_t> sizes{0};
  uint64_t shard_bytes = 0;
  for (const auto& t : plan_.tensors()) {
    const uint64_t bytes = align_up(t.n_bytes, alignment_);
    // Start a new shard when this tensor would overflow a non-empty one.
    if (max_shard_bytes_ > 0 && sizes.back() > 0 && shard_bytes + bytes > max_shard_bytes_) {
      sizes.push_back(0);
      shard_bytes = 0;
    }
    ++sizes.back();
    shard_bytes += bytes;
  }
  return sizes;
}

Status GgufSplitWriter::begin(const std::filesystem::path& path) {
  if (!shards_.empty()) return make_error(ErrorCode::kInternal, "GgufSplitWriter::begin twice");
  tensors_left_ = plan_shard_sizes();
  const size_t n = tensors_left_.size();
  if (n == 1) {
    paths_ = {path};
    shards_.push_back(std::move(plan_));
    return shards_.front().begin(path);
  }
  const std::string p = path.string();
  if (!p.ends_with(".gguf"))
    return make_error(ErrorCode::kInvalidArgument,
                      "{}: a split output must be named <prefix>.gguf (shards become "
                      "<prefix>-00001-of-{:05d}.gguf …)",
                      p, n);
  if (n > 65535)  // split.count is a u16 in llama.cpp's files
    return make_error(ErrorCode::kInvalidArgument, "{}: {} shards are too many", p, n);
  const std::string prefix = p.substr(0, p.size() - 5);
  const auto& tensors = plan_.tensors();
  size_t next_tensor = 0;
  for (size_t s = 0; s < n; ++s) {
    GgufWriter w(alignment_);
    if (s == 0)
      for (const auto& kv : plan_.kvs()) w.set(kv.key, kv.value);
    w.set("split.no", GgufValue::u16(static_cast<uint16_t>(s)));
    w.set("split.count", GgufValue::u16(static_cast<uint16_t>(n)));
    w.set("split.tensors.count", GgufValue::i32(static_cast<int32_t>(tensors.size())));
    for (size_t i = 0; i < tensors_left_[s]; ++i, ++next_tensor) {
      const auto& t = tensors[next_tensor];
      QMIX_TRY(w.add_tensor(t.name, t.shape, t.type));
    }
    paths_.push_back(gguf_split_path(prefix, static_cast<int>(s + 1), static_cast<int>(n)));
    shards_.push_back(std::move(w));
  }
  // Every shard's temporary file is created now, so a full or read-only directory fails early.
  for (size_t s = 0; s < n; ++s) QMIX_TRY(shards_[s].begin(paths_[s]));
  return ok_status();
}

Status GgufSplitWriter::write_tensor_data(std::span<const std::byte> data) {
  if (shards_.empty()) return make_error(ErrorCode::kInternal, "write_tensor_data before begin()");
  while (current_ < shards_.size() && tensors_left_[current_] == 0) ++current_;
  if (current_ == shards_.size())
    return make_error(ErrorCode::kInternal, "more tensor data than declared tensors");
  QMIX_TRY(shards_[current_].write_tensor_data(data));
  --tensors_left_[current_];
  return ok_status();
}

Status GgufSplitWriter::finish() {
  if (shards_.empty()) return make_error(ErrorCode::kInternal, "finish before begin()");
  for (const size_t left : tensors_left_)
    if (left > 0)
      return make_error(ErrorCode::kInternal, "{}: finish with tensors not written",
                        paths_.front().string());
  for (size_t s = 0; s < shards_.size(); ++s) {
    const Status st = shards_[s].finish();
    if (st.ok()) continue;
    // All or nothing: a model missing a shard is unusable.
    for (size_t done = 0; done < s; ++done) {
      std::error_code ec;
      std::filesystem::remove(paths_[done], ec);
    }
    return st;
  }
  return ok_status();
}

}  // namespace qmix
