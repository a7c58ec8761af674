// Reader for Hugging Face .safetensors files over a memory map. The header (8-byte little-endian
// length + JSON object) is untrusted: every dtype, shape and offset is validated against
// overflow, the file size and the other tensors before any data is touched.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/mapped_file.h"

namespace qmix {

// One row per element type we can read; the only place that knows their encodings.
struct SafetensorsDtype {
  std::string_view name;  // as spelled in the header: "BF16"
  int64_t size;           // bytes per element
  // Decodes n elements from unaligned little-endian bytes.
  void (*to_f32)(const std::byte* src, float* dst, int64_t n);
  bool is_half;  // 16-bit float: llama.cpp keeps F16 sources in half precision while transforming
};

const SafetensorsDtype* find_safetensors_dtype(std::string_view name);
std::string safetensors_dtype_names();  // "F32, F16, BF16" for messages

struct SafetensorsTensor {
  std::string name;
  const SafetensorsDtype* dtype = nullptr;
  std::vector<int64_t> shape;  // as stored: outermost dimension first
  uint64_t n_elements = 0;
  uint64_t file_offset = 0;  // absolute offset of the data in the file (for messages)
  std::span<const std::byte> data;
};

class SafetensorsFile {
 public:
  // Header sizes above this are rejected (the format's own limit).
  static constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

  static Expected<SafetensorsFile> open(const std::filesystem::path& path);
  // Parses an in-memory image; `name` is used in messages. The bytes must outlive the result.
  static Expected<SafetensorsFile> parse(std::span<const std::byte> bytes, std::string name);

  const std::string& name() const { return name_; }
  // In header order (llama.cpp's converter visits tensors in this order).
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  const SafetensorsTensor* find(std::string_view name) const;

 private:
  std::shared_ptr<MappedFile> map_;
  std::string name_;
  std::vector<SafetensorsTensor> tensors_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace qmix
