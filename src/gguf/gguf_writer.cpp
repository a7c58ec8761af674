#include "gguf/gguf_writer.h"

#include <algorithm>
#include <cstring>

#include "core/checked.h"

namespace qmix {
namespace {

class ByteSink {
 public:
  explicit ByteSink(std::vector<std::byte>& out) : out_(out) {}
  template <class T>
  void put(T v) {
    put_bytes(std::as_bytes(std::span<const T, 1>(&v, 1)));
  }
  // resize + memcpy rather than insert: GCC 12 reports a false stringop-overflow on insert.
  void put_bytes(std::span<const std::byte> b) {
    if (b.empty()) return;
    const size_t at = out_.size();
    out_.resize(at + b.size());
    std::memcpy(out_.data() + at, b.data(), b.size());
  }
  void put_string(std::string_view s) {
    put<uint64_t>(s.size());
    put_bytes(std::as_bytes(std::span(s.data(), s.size())));
  }
  void put_value(const GgufValue& v) {
    if (v.type() == GgufValueType::kString) return put_string(*v.as_string());
    if (!v.is_array()) return put_bytes(v.scalar_bytes());
    put<uint32_t>(static_cast<uint32_t>(v.array_type()));
    put<uint64_t>(v.array_size());
    if (const auto* strings = v.as_string_array()) {
      for (const auto& s : *strings) put_string(s);
    } else {
      put_bytes(v.raw_array_bytes());
    }
  }

 private:
  std::vector<std::byte>& out_;
};

}  // namespace

GgufWriter::GgufWriter(uint32_t alignment) : alignment_(alignment) {
  if (alignment_ != kGgufDefaultAlignment) set("general.alignment", GgufValue::u32(alignment_));
}

void GgufWriter::set(std::string key, GgufValue value) {
  for (auto& kv : kvs_)
    if (kv.key == key) {
      kv.value = std::move(value);
      return;
    }
  kvs_.push_back({std::move(key), std::move(value)});
}

void GgufWriter::remove(std::string_view key) {
  std::erase_if(kvs_, [&](const GgufKv& kv) { return kv.key == key; });
}

const GgufValue* GgufWriter::find(std::string_view key) const {
  for (const auto& kv : kvs_)
    if (kv.key == key) return &kv.value;
  return nullptr;
}

void GgufWriter::copy_metadata_from(const GgufFile& file) {
  for (const auto& kv : file.kvs()) {
    if (kv.key == "general.alignment") continue;  // ours is set by the constructor
    set(kv.key, kv.value);
  }
}

Status GgufWriter::add_tensor(std::string name, std::vector<int64_t> shape, GgmlType type) {
  if (out_) return make_error(ErrorCode::kInternal, "tensor '{}' declared after begin()", name);
  const QuantType* qt = find_quant_type(type);
  if (qt == nullptr)
    return make_error(ErrorCode::kInvalidArgument, "tensor '{}': unknown type", name);
  if (shape.empty() || shape.size() > kGgufMaxDims)
    return make_error(ErrorCode::kInvalidArgument, "tensor '{}': {} dimensions", name,
                      shape.size());
  for (const auto& t : tensors_)
    if (t.name == name)
      return make_error(ErrorCode::kInvalidArgument, "duplicate tensor '{}'", name);
  uint64_t n = 1;
  for (int64_t d : shape) {
    const auto p = d < 0 ? std::nullopt : checked_mul(n, static_cast<uint64_t>(d));
    if (!p) return make_error(ErrorCode::kInvalidArgument, "tensor '{}': invalid shape", name);
    n = *p;
  }
  const auto row = qt->row_bytes(shape[0]);
  if (!row)
    return make_error(ErrorCode::kInvalidArgument,
                      "tensor '{}': row length {} is not a multiple of {}'s block size {}", name,
                      shape[0], qt->name, qt->block_size);
  GgufTensorInfo info;
  info.name = std::move(name);
  info.shape = std::move(shape);
  info.type = type;
  info.offset = next_offset_;
  info.n_elements = n;
  info.n_bytes = n / static_cast<uint64_t>(qt->block_size) * static_cast<uint64_t>(qt->block_bytes);
  next_offset_ = align_up(next_offset_ + info.n_bytes, alignment_);
  tensors_.push_back(std::move(info));
  return ok_status();
}

std::vector<std::byte> GgufWriter::header_bytes() const {
  std::vector<std::byte> out;
  ByteSink sink(out);
  sink.put<uint32_t>(0x46554747);
  sink.put<uint32_t>(3);
  sink.put<uint64_t>(tensors_.size());
  sink.put<uint64_t>(kvs_.size());
  for (const auto& kv : kvs_) {
    sink.put_string(kv.key);
    sink.put<uint32_t>(static_cast<uint32_t>(kv.value.type()));
    sink.put_value(kv.value);
  }
  for (const auto& t : tensors_) {
    sink.put_string(t.name);
    sink.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (int64_t d : t.shape) sink.put<uint64_t>(static_cast<uint64_t>(d));
    sink.put<uint32_t>(static_cast<uint32_t>(t.type));
    sink.put<uint64_t>(t.offset);
  }
  out.resize(align_up(out.size(), alignment_));
  return out;
}

uint64_t GgufWriter::file_size() const {
  return header_bytes().size() + (tensors_.empty() ? 0 : next_offset_);
}

Status GgufWriter::begin(const std::filesystem::path& path) {
  if (out_) return make_error(ErrorCode::kInternal, "GgufWriter::begin called twice");
  QMIX_TRY_ASSIGN(auto file, AtomicFile::create(path));
  out_.emplace(std::move(file));
  return out_->write(header_bytes());
}

Status GgufWriter::write_tensor_data(std::span<const std::byte> data) {
  if (out_ && written_tensors_ < tensors_.size() &&
      (written_of_current_ != 0 || data.size() != tensors_[written_tensors_].n_bytes)) {
    const GgufTensorInfo& t = tensors_[written_tensors_];
    return make_error(ErrorCode::kInternal, "tensor '{}': got {} bytes, expected {}", t.name,
                      data.size(), t.n_bytes);
  }
  return write_tensor_part(data);
}

Status GgufWriter::write_tensor_part(std::span<const std::byte> data) {
  if (!out_) return make_error(ErrorCode::kInternal, "write_tensor_data before begin()");
  if (written_tensors_ >= tensors_.size())
    return make_error(ErrorCode::kInternal, "more tensor data than declared tensors");
  const GgufTensorInfo& t = tensors_[written_tensors_];
  if (data.size() > t.n_bytes - written_of_current_)
    return make_error(ErrorCode::kInternal, "tensor '{}': got {} bytes more than its {}", t.name,
                      written_of_current_ + data.size() - t.n_bytes, t.n_bytes);
  QMIX_TRY(out_->write(data));
  written_of_current_ += data.size();
  if (written_of_current_ == t.n_bytes) {
    QMIX_TRY(out_->write_zeros(align_up(t.n_bytes, alignment_) - t.n_bytes));
    ++written_tensors_;
    written_of_current_ = 0;
  }
  return ok_status();
}

Status GgufWriter::finish() {
  if (!out_) return make_error(ErrorCode::kInternal, "finish before begin()");
  if (written_tensors_ != tensors_.size())
    return make_error(ErrorCode::kInternal, "{} of {} tensors written", written_tensors_,
                      tensors_.size());
  return out_->commit();
}

}  // namespace qmix
