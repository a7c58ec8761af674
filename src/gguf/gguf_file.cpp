#include "gguf/gguf_file.h"

#include <algorithm>
#include <cstring>

#include "core/checked.h"

namespace qmix {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as little-endian u32
// Hard caps that no real file reaches; they keep hostile headers from asking for huge memory.
constexpr uint64_t kMaxStringLength = uint64_t{1} << 30;
constexpr uint64_t kMaxTensorNameLength = 4096;

}  // namespace

// Sequential reader over the header with bounds checks; every error names the offset.
class GgufParser {
 public:
  GgufParser(std::span<const std::byte> bytes, const std::string& name)
      : bytes_(bytes), name_(name) {}

  Status parse(GgufFile& out);

 private:
  Error fail(std::string_view what) const {
    return make_error(ErrorCode::kCorrupt, "{}: offset {}: {}", name_, pos_, what);
  }
  uint64_t remaining() const { return bytes_.size() - pos_; }

  template <class T>
  Expected<T> read(std::string_view field) {
    if (remaining() < sizeof(T)) return fail(fmt::format("truncated file while reading {}", field));
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  Expected<std::string> read_string(std::string_view field, uint64_t max_length);
  Expected<GgufValue> read_value(GgufValueType type, std::string_view key);
  Expected<GgufValue> read_array(std::string_view key);
  Status read_header(GgufFile& out, uint64_t* n_tensors, uint64_t* n_kv);
  Status read_kvs(GgufFile& out, uint64_t n_kv);
  Status read_tensor_infos(GgufFile& out, uint64_t n_tensors);
  Expected<GgufTensorInfo> read_tensor_info();
  Status apply_alignment(GgufFile& out);
  Status check_tensor_layout(GgufFile& out);

  std::span<const std::byte> bytes_;
  const std::string& name_;
  uint64_t pos_ = 0;
};

Expected<std::string> GgufParser::read_string(std::string_view field, uint64_t max_length) {
  QMIX_TRY_ASSIGN(const uint64_t len, read<uint64_t>(field));
  if (len > remaining() || len > max_length)
    return fail(fmt::format("{}: string length {} exceeds the file", field, len));
  std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), len);
  pos_ += len;
  return s;
}

Expected<GgufValue> GgufParser::read_array(std::string_view key) {
  QMIX_TRY_ASSIGN(const uint32_t raw_type, read<uint32_t>("array element type"));
  if (!gguf_value_type_valid(raw_type))
    return fail(fmt::format("key '{}': invalid array element type {}", key, raw_type));
  const auto type = static_cast<GgufValueType>(raw_type);
  if (type == GgufValueType::kArray)
    return fail(fmt::format("key '{}': nested arrays are not supported", key));
  QMIX_TRY_ASSIGN(const uint64_t count, read<uint64_t>("array length"));
  if (type == GgufValueType::kString) {
    // Each string needs at least its 8-byte length: bound the count before reserving.
    if (count > remaining() / 8)
      return fail(fmt::format("key '{}': array length {} exceeds the file", key, count));
    std::vector<std::string> values;
    values.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      QMIX_TRY_ASSIGN(auto s, read_string(key, kMaxStringLength));
      values.push_back(std::move(s));
    }
    return GgufValue::array_strings(std::move(values));
  }
  const uint64_t elem = gguf_scalar_size(type);
  const auto total = checked_mul(count, elem);
  if (!total || *total > remaining())
    return fail(fmt::format("key '{}': array of {} x {} exceeds the file", key, count,
                            gguf_value_type_name(type)));
  std::vector<std::byte> raw(bytes_.begin() + static_cast<ptrdiff_t>(pos_),
                             bytes_.begin() + static_cast<ptrdiff_t>(pos_ + *total));
  pos_ += *total;
  return GgufValue::array_raw(type, count, std::move(raw));
}

Expected<GgufValue> GgufParser::read_value(GgufValueType type, std::string_view key) {
  switch (type) {
    case GgufValueType::kString: {
      QMIX_TRY_ASSIGN(auto s, read_string(key, kMaxStringLength));
      return GgufValue::string(std::move(s));
    }
    case GgufValueType::kArray:
      return read_array(key);
    case GgufValueType::kBool: {
      QMIX_TRY_ASSIGN(const uint8_t b, read<uint8_t>(key));
      if (b > 1) return fail(fmt::format("key '{}': invalid bool value {}", key, b));
      return GgufValue::boolean(b != 0);
    }
    default:
      break;
  }
  const size_t size = gguf_scalar_size(type);
  if (remaining() < size)
    return fail(fmt::format("truncated file while reading value of '{}'", key));
  std::vector<std::byte> raw(bytes_.begin() + static_cast<ptrdiff_t>(pos_),
                             bytes_.begin() + static_cast<ptrdiff_t>(pos_ + size));
  pos_ += size;
  // A one-element raw array is reinterpreted as the scalar of that type.
  uint64_t v = 0;
  std::memcpy(&v, raw.data(), size);
  switch (type) {
    case GgufValueType::kUint8:
      return GgufValue::u8(static_cast<uint8_t>(v));
    case GgufValueType::kInt8:
      return GgufValue::i8(static_cast<int8_t>(v));
    case GgufValueType::kUint16:
      return GgufValue::u16(static_cast<uint16_t>(v));
    case GgufValueType::kInt16:
      return GgufValue::i16(static_cast<int16_t>(v));
    case GgufValueType::kUint32:
      return GgufValue::u32(static_cast<uint32_t>(v));
    case GgufValueType::kInt32:
      return GgufValue::i32(static_cast<int32_t>(v));
    case GgufValueType::kUint64:
      return GgufValue::u64(v);
    case GgufValueType::kInt64:
      return GgufValue::i64(static_cast<int64_t>(v));
    case GgufValueType::kFloat32: {
      float f;
      std::memcpy(&f, raw.data(), 4);
      return GgufValue::f32(f);
    }
    case GgufValueType::kFloat64: {
      double d;
      std::memcpy(&d, raw.data(), 8);
      return GgufValue::f64(d);
    }
    default:
      return fail(fmt::format("key '{}': invalid value type", key));
  }
}

Status GgufParser::read_header(GgufFile& out, uint64_t* n_tensors, uint64_t* n_kv) {
  QMIX_TRY_ASSIGN(const uint32_t magic, read<uint32_t>("magic"));
  if (magic != kMagic) return fail("not a GGUF file (bad magic)");
  QMIX_TRY_ASSIGN(const uint32_t version, read<uint32_t>("version"));
  if (version == 0x02000000u || version == 0x03000000u)
    return make_error(ErrorCode::kUnsupported, "{}: big-endian GGUF not supported", name_);
  if (version == 1)
    return make_error(ErrorCode::kUnsupported, "{}: GGUF version 1 is not supported", name_);
  if (version != 2 && version != 3)
    return make_error(ErrorCode::kUnsupported, "{}: unknown GGUF version {}", name_, version);
  out.version_ = version;
  QMIX_TRY_ASSIGN(*n_tensors, read<uint64_t>("tensor count"));
  QMIX_TRY_ASSIGN(*n_kv, read<uint64_t>("metadata count"));
  return ok_status();
}

Status GgufParser::read_kvs(GgufFile& out, uint64_t n_kv) {
  // Every KV takes at least 12 bytes (key length + type): bound before reserving.
  if (n_kv > remaining() / 12) return fail(fmt::format("metadata count {} exceeds the file", n_kv));
  out.kvs_.reserve(n_kv);
  for (uint64_t i = 0; i < n_kv; ++i) {
    QMIX_TRY_ASSIGN(auto key, read_string("metadata key", kMaxStringLength));
    QMIX_TRY_ASSIGN(const uint32_t raw_type, read<uint32_t>("value type"));
    if (!gguf_value_type_valid(raw_type))
      return fail(fmt::format("key '{}': invalid value type {}", key, raw_type));
    QMIX_TRY_ASSIGN(auto value, read_value(static_cast<GgufValueType>(raw_type), key));
    if (out.kv_index_.count(key)) return fail(fmt::format("duplicate metadata key '{}'", key));
    out.kv_index_.emplace(key, out.kvs_.size());
    out.kvs_.push_back({std::move(key), std::move(value)});
  }
  return ok_status();
}

Expected<GgufTensorInfo> GgufParser::read_tensor_info() {
  GgufTensorInfo t;
  QMIX_TRY_ASSIGN(t.name, read_string("tensor name", kMaxTensorNameLength));
  QMIX_TRY_ASSIGN(const uint32_t n_dims, read<uint32_t>("tensor dimension count"));
  if (n_dims < 1 || n_dims > kGgufMaxDims)
    return fail(
        fmt::format("tensor '{}': {} dimensions (1..{} allowed)", t.name, n_dims, kGgufMaxDims));
  uint64_t n_elements = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    QMIX_TRY_ASSIGN(const uint64_t dim, read<uint64_t>("tensor dimension"));
    const auto product = checked_mul(n_elements, dim);
    if (dim > static_cast<uint64_t>(INT64_MAX) || !product ||
        *product > static_cast<uint64_t>(INT64_MAX))
      return fail(fmt::format("tensor '{}': shape overflows", t.name));
    n_elements = *product;
    t.shape.push_back(static_cast<int64_t>(dim));
  }
  QMIX_TRY_ASSIGN(const uint32_t raw_type, read<uint32_t>("tensor type"));
  const QuantType* qt = find_quant_type(raw_type);
  if (qt == nullptr)
    return fail(fmt::format("tensor '{}': unknown ggml type id {}", t.name, raw_type));
  t.type = qt->id;
  if (t.shape[0] % qt->block_size != 0)
    return fail(fmt::format("tensor '{}': row length {} is not a multiple of {}'s block size {}",
                            t.name, t.shape[0], qt->name, qt->block_size));
  QMIX_TRY_ASSIGN(t.offset, read<uint64_t>("tensor data offset"));
  t.n_elements = n_elements;
  const auto bytes = checked_mul(n_elements / static_cast<uint64_t>(qt->block_size),
                                 static_cast<uint64_t>(qt->block_bytes));
  if (!bytes) return fail(fmt::format("tensor '{}': size overflows", t.name));
  t.n_bytes = *bytes;
  return t;
}

Status GgufParser::read_tensor_infos(GgufFile& out, uint64_t n_tensors) {
  // A tensor info takes at least 8 + 4 + 8 + 4 + 8 bytes.
  if (n_tensors > remaining() / 32)
    return fail(fmt::format("tensor count {} exceeds the file", n_tensors));
  out.tensors_.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    QMIX_TRY_ASSIGN(auto t, read_tensor_info());
    if (out.tensor_index_.count(t.name))
      return fail(fmt::format("duplicate tensor name '{}'", t.name));
    out.tensor_index_.emplace(t.name, out.tensors_.size());
    out.tensors_.push_back(std::move(t));
  }
  return ok_status();
}

Status GgufParser::apply_alignment(GgufFile& out) {
  if (const GgufValue* a = out.find("general.alignment")) {
    if (a->type() != GgufValueType::kUint32) return fail("general.alignment must be a u32");
    const auto v = *a->as_uint();
    if (v == 0 || (v & (v - 1)) != 0 || v > (1u << 20))
      return fail(fmt::format("general.alignment {} is not a power of two", v));
    out.alignment_ = static_cast<uint32_t>(v);
  }
  out.data_offset_ = align_up(pos_, out.alignment_);
  return ok_status();
}

Status GgufParser::check_tensor_layout(GgufFile& out) {
  std::vector<const GgufTensorInfo*> by_offset;
  for (const auto& t : out.tensors_) {
    if (t.offset % out.alignment_ != 0)
      return make_error(ErrorCode::kCorrupt, "{}: tensor '{}': data offset {} is not aligned to {}",
                        name_, t.name, t.offset, out.alignment_);
    const auto start = checked_add(out.data_offset_, t.offset);
    const auto end = start ? checked_add(*start, t.n_bytes) : std::nullopt;
    if (!end || *end > bytes_.size())
      return make_error(
          ErrorCode::kCorrupt,
          "{}: tensor '{}': data ({} bytes at offset {}) lies outside the file ({} bytes)", name_,
          t.name, t.n_bytes, t.offset, bytes_.size());
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const auto* prev = by_offset[i - 1];
    if (prev->offset + prev->n_bytes > by_offset[i]->offset)
      return make_error(ErrorCode::kCorrupt, "{}: tensors '{}' and '{}' overlap", name_, prev->name,
                        by_offset[i]->name);
  }
  return ok_status();
}

Status GgufParser::parse(GgufFile& out) {
  uint64_t n_tensors = 0, n_kv = 0;
  QMIX_TRY(read_header(out, &n_tensors, &n_kv));
  QMIX_TRY(read_kvs(out, n_kv));
  QMIX_TRY(read_tensor_infos(out, n_tensors));
  QMIX_TRY(apply_alignment(out));
  return check_tensor_layout(out);
}

int64_t GgufTensorInfo::n_rows() const {
  int64_t rows = 1;
  for (size_t i = 1; i < shape.size(); ++i) rows *= shape[i];
  return rows;
}

Expected<GgufFile> GgufFile::parse(std::span<const std::byte> bytes, std::string name) {
  GgufFile file;
  file.bytes_ = bytes;
  file.name_ = std::move(name);
  GgufParser parser(bytes, file.name_);
  QMIX_TRY(parser.parse(file));
  return file;
}

Expected<GgufFile> GgufFile::open(const std::filesystem::path& path) {
  QMIX_TRY_ASSIGN(auto mapped, MappedFile::open(path));
  auto map = std::make_shared<MappedFile>(std::move(mapped));
  QMIX_TRY_ASSIGN(GgufFile file, parse(map->bytes(), path.string()));
  file.map_ = std::move(map);
  return file;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  const auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const std::byte> GgufFile::tensor_data(const GgufTensorInfo& t) const {
  return bytes_.subspan(data_offset_ + t.offset, t.n_bytes);
}

void GgufFile::drop_tensor_pages(const GgufTensorInfo& t) const {
  if (map_) map_->drop_pages(tensor_data(t));
}

Expected<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr)
    return make_error(ErrorCode::kNotFound, "{}: missing metadata key '{}'", name_, key);
  const auto i = v->as_int();
  if (!i)
    return make_error(ErrorCode::kCorrupt, "{}: metadata key '{}' is not an integer", name_, key);
  return *i;
}

Expected<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr)
    return make_error(ErrorCode::kNotFound, "{}: missing metadata key '{}'", name_, key);
  const auto f = v->as_float();
  if (!f)
    return make_error(ErrorCode::kCorrupt, "{}: metadata key '{}' is not a number", name_, key);
  return *f;
}

Expected<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr)
    return make_error(ErrorCode::kNotFound, "{}: missing metadata key '{}'", name_, key);
  if (v->as_string() == nullptr)
    return make_error(ErrorCode::kCorrupt, "{}: metadata key '{}' is not a string", name_, key);
  return *v->as_string();
}

Expected<int64_t> GgufFile::get_int_or(std::string_view key, int64_t fallback) const {
  return find(key) ? get_int(key) : Expected<int64_t>(fallback);
}

Expected<double> GgufFile::get_float_or(std::string_view key, double fallback) const {
  return find(key) ? get_float(key) : Expected<double>(fallback);
}

std::string GgufFile::get_string_or(std::string_view key, std::string fallback) const {
  const GgufValue* v = find(key);
  return (v && v->as_string()) ? *v->as_string() : fallback;
}

}  // namespace qmix
