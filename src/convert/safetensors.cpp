#include "convert/safetensors.h"

#include <algorithm>
#include <array>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/checked.h"
#include "core/fp16.h"

namespace qmix {
namespace {

using Json = nlohmann::ordered_json;

template <class Raw, float (*Decode)(Raw)>
void decode_elements(const std::byte* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    Raw raw;
    std::memcpy(&raw, src + i * static_cast<int64_t>(sizeof(Raw)), sizeof(Raw));
    dst[i] = Decode(raw);
  }
}

float f32_identity(float x) { return x; }

constexpr std::array kDtypes = {
    SafetensorsDtype{"F32", 4, decode_elements<float, f32_identity>, false},
    SafetensorsDtype{"F16", 2, decode_elements<fp16_t, fp16_to_fp32>, true},
    SafetensorsDtype{"BF16", 2, decode_elements<bf16_t, bf16_to_fp32>, false},
};

// Reads a JSON array of non-negative integers; nullopt for anything else.
std::optional<std::vector<uint64_t>> unsigned_array(const Json& j) {
  if (!j.is_array()) return std::nullopt;
  std::vector<uint64_t> out;
  out.reserve(j.size());
  for (const auto& e : j) {
    if (!e.is_number_unsigned()) return std::nullopt;
    out.push_back(e.get<uint64_t>());
  }
  return out;
}

struct EntryContext {
  const std::string& file;
  const std::string& tensor;
  uint64_t data_start;  // absolute offset of the data section
  uint64_t data_size;
};

Expected<SafetensorsTensor> parse_entry(const Json& entry, const EntryContext& c) {
  auto fail = [&](std::string_view what) {
    return make_error(ErrorCode::kCorrupt, "{}: tensor '{}': {}", c.file, c.tensor, what);
  };
  if (!entry.is_object()) return fail("header entry is not an object");
  const auto dtype_it = entry.find("dtype");
  if (dtype_it == entry.end() || !dtype_it->is_string()) return fail("missing dtype");
  const auto& dtype_name = dtype_it->get_ref<const std::string&>();
  SafetensorsTensor t;
  t.name = c.tensor;
  t.dtype = find_safetensors_dtype(dtype_name);
  if (t.dtype == nullptr)
    return make_error(ErrorCode::kUnsupported, "{}: tensor '{}': unsupported dtype '{}' ({})",
                      c.file, c.tensor, dtype_name, "supported: " + safetensors_dtype_names());
  const auto shape = entry.contains("shape") ? unsigned_array(entry["shape"]) : std::nullopt;
  if (!shape) return fail("missing or invalid shape");
  uint64_t n = 1;
  for (uint64_t d : *shape) {
    const auto p = checked_mul(n, d);
    if (!p || d > static_cast<uint64_t>(INT64_MAX)) return fail("shape overflows");
    n = *p;
    t.shape.push_back(static_cast<int64_t>(d));
  }
  t.n_elements = n;
  const auto offsets =
      entry.contains("data_offsets") ? unsigned_array(entry["data_offsets"]) : std::nullopt;
  if (!offsets || offsets->size() != 2) return fail("missing or invalid data_offsets");
  const uint64_t begin = (*offsets)[0], end = (*offsets)[1];
  const auto bytes = checked_mul(n, static_cast<uint64_t>(t.dtype->size));
  if (begin > end || end > c.data_size)
    return make_error(ErrorCode::kCorrupt,
                      "{}: tensor '{}': data_offsets [{}, {}] outside the {} bytes of data", c.file,
                      c.tensor, begin, end, c.data_size);
  if (!bytes || *bytes != end - begin)
    return make_error(ErrorCode::kCorrupt,
                      "{}: tensor '{}': {} bytes of data but shape and dtype need {}", c.file,
                      c.tensor, end - begin, bytes ? std::to_string(*bytes) : "too many");
  t.file_offset = c.data_start + begin;
  return t;
}

// Tensors may not share bytes: a crafted header could otherwise alias one tensor's data
// into another's.
Status check_no_overlap(const std::vector<SafetensorsTensor>& tensors, const std::string& file,
                        uint64_t data_start) {
  std::vector<const SafetensorsTensor*> by_offset;
  for (const auto& t : tensors)
    if (t.n_elements > 0) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const auto* a, const auto* b) { return a->file_offset < b->file_offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const auto* prev = by_offset[i - 1];
    const uint64_t prev_end = prev->file_offset + prev->n_elements * prev->dtype->size;
    if (by_offset[i]->file_offset < prev_end)
      return make_error(ErrorCode::kCorrupt, "{}: tensors '{}' and '{}' overlap at data offset {}",
                        file, prev->name, by_offset[i]->name,
                        by_offset[i]->file_offset - data_start);
  }
  return ok_status();
}

}  // namespace

const SafetensorsDtype* find_safetensors_dtype(std::string_view name) {
  for (const auto& d : kDtypes)
    if (d.name == name) return &d;
  return nullptr;
}

std::string safetensors_dtype_names() {
  std::string out;
  for (const auto& d : kDtypes) {
    if (!out.empty()) out += ", ";
    out += d.name;
  }
  return out;
}

Expected<SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path) {
  QMIX_TRY_ASSIGN(MappedFile map, MappedFile::open(path));
  auto shared = std::make_shared<MappedFile>(std::move(map));
  QMIX_TRY_ASSIGN(SafetensorsFile file, parse(shared->bytes(), path.string()));
  file.map_ = std::move(shared);
  return file;
}

Expected<SafetensorsFile> SafetensorsFile::parse(std::span<const std::byte> bytes,
                                                 std::string name) {
  if (bytes.size() < 8)
    return make_error(ErrorCode::kCorrupt, "{}: truncated: {} bytes, no header length", name,
                      bytes.size());
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  if (header_len > kMaxHeaderBytes || header_len > bytes.size() - 8)
    return make_error(ErrorCode::kCorrupt,
                      "{}: header length {} exceeds the file ({} bytes) or the {} byte limit", name,
                      header_len, bytes.size(), kMaxHeaderBytes);
  const char* text = reinterpret_cast<const char*>(bytes.data() + 8);
  const Json header = Json::parse(text, text + header_len, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object())
    return make_error(ErrorCode::kCorrupt, "{}: header is not a JSON object", name);
  SafetensorsFile file;
  file.name_ = std::move(name);
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = bytes.size() - data_start;
  for (const auto& [key, entry] : header.items()) {
    if (key == "__metadata__") continue;
    const EntryContext ctx{file.name_, key, data_start, data_size};
    QMIX_TRY_ASSIGN(SafetensorsTensor t, parse_entry(entry, ctx));
    t.data = bytes.subspan(t.file_offset, t.n_elements * static_cast<uint64_t>(t.dtype->size));
    file.index_.emplace(t.name, file.tensors_.size());
    file.tensors_.push_back(std::move(t));
  }
  QMIX_TRY(check_no_overlap(file.tensors_, file.name_, data_start));
  return file;
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  const auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace qmix
