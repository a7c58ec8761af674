// GGUF v2/v3 reader over a memory map. Parsing validates every count, length, offset and shape
// against overflow and the file size; tensor data is only touched when asked for.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/mapped_file.h"
#include "gguf/gguf_value.h"
#include "quant/types.h"

namespace qmix {

inline constexpr uint32_t kGgufDefaultAlignment = 32;
inline constexpr int kGgufMaxDims = 4;

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> shape;  // ggml order: shape[0] is the row length (fastest-varying)
  GgmlType type = GgmlType::F32;
  uint64_t offset = 0;  // relative to the data section
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;

  int64_t row_length() const { return shape.empty() ? 1 : shape[0]; }
  int64_t n_rows() const;  // product of shape[1..]
  const QuantType& quant_type() const { return ::qmix::quant_type(type); }
};

class GgufFile {
 public:
  // Opens and validates a file (mmap). Errors name the file, byte offset and field.
  static Expected<GgufFile> open(const std::filesystem::path& path);
  // Parses an in-memory image (fuzzing, tests); `name` is used in messages. The bytes must
  // outlive the returned object.
  static Expected<GgufFile> parse(std::span<const std::byte> bytes, std::string name);

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return bytes_.size(); }
  const std::string& name() const { return name_; }

  const std::vector<GgufKv>& kvs() const { return kvs_; }
  const GgufValue* find(std::string_view key) const;
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;

  // Typed metadata helpers: error if missing or of the wrong kind (message names the key).
  Expected<int64_t> get_int(std::string_view key) const;
  Expected<double> get_float(std::string_view key) const;
  Expected<std::string> get_string(std::string_view key) const;
  // The same with a default when absent (but still an error when of the wrong kind).
  Expected<int64_t> get_int_or(std::string_view key, int64_t fallback) const;
  Expected<double> get_float_or(std::string_view key, double fallback) const;
  std::string get_string_or(std::string_view key, std::string fallback) const;

  // The bytes of a tensor (validated at open to lie inside the file).
  std::span<const std::byte> tensor_data(const GgufTensorInfo& t) const;
  // Done with a tensor for now: its mapped pages leave the resident set (see
  // MappedFile::drop_pages); tensor_data() stays valid. No-op for parse()d images.
  void drop_tensor_pages(const GgufTensorInfo& t) const;

 private:
  friend class GgufParser;
  std::shared_ptr<MappedFile> map_;  // null for parse()
  std::span<const std::byte> bytes_;
  std::string name_;
  uint32_t version_ = 0;
  uint32_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<GgufKv> kvs_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace qmix
