// Streaming GGUF writer: metadata and tensor infos first, then tensor data one tensor at a time
// (never the whole model in memory), into a temporary file renamed into place by finish().
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_value.h"

namespace qmix {

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t alignment = kGgufDefaultAlignment);

  // Metadata in insertion order; setting an existing key replaces its value in place.
  void set(std::string key, GgufValue value);
  void remove(std::string_view key);
  const GgufValue* find(std::string_view key) const;
  const std::vector<GgufKv>& kvs() const { return kvs_; }
  // Copies all metadata of a file (used to carry a model's KVs over to a new file).
  void copy_metadata_from(const GgufFile& file);

  // Declares the next tensor; data must later be written in the same order.
  Status add_tensor(std::string name, std::vector<int64_t> shape, GgmlType type);
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }

  // Size of the whole file as it will be written.
  uint64_t file_size() const;

  // Writes the header to a temporary file beside `path`.
  Status begin(const std::filesystem::path& path);
  // Writes the next tensor's bytes (size must match) and its alignment padding.
  Status write_tensor_data(std::span<const std::byte> data);
  // Streams the next tensor in parts (for tensors too big to hold at once): its padding follows
  // the part that completes it. Parts must not cross into the following tensor.
  Status write_tensor_part(std::span<const std::byte> data);
  // Checks every tensor was written, fsyncs and renames into place.
  Status finish();

  // The header (magic … padding before the data section) as bytes.
  std::vector<std::byte> header_bytes() const;

 private:
  uint32_t alignment_;
  std::vector<GgufKv> kvs_;
  std::vector<GgufTensorInfo> tensors_;
  uint64_t next_offset_ = 0;
  std::optional<AtomicFile> out_;
  size_t written_tensors_ = 0;
  uint64_t written_of_current_ = 0;  // bytes of tensors_[written_tensors_] written so far
};

}  // namespace qmix
