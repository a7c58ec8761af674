// Writes a model as one GGUF or, above a size limit, as llama.cpp-style shards
// ("out-00001-of-00003.gguf" …): all metadata plus split.no/count/tensors.count in the first,
// only the split.* keys (and a non-default general.alignment) in the others. Tensors stream in
// declaration order like GgufWriter; every shard goes to a temporary file and all are renamed
// into place by finish(), so an error or interrupt leaves no shard behind.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "gguf/gguf_writer.h"

namespace qmix {

class GgufSplitWriter {
 public:
  // max_shard_bytes: most tensor-data bytes per shard (headers not counted, like llama.cpp's
  // gguf-split --split-max-size); 0 writes a single file. A tensor larger than the limit gets a
  // shard of its own.
  explicit GgufSplitWriter(uint64_t max_shard_bytes = 0,
                           uint32_t alignment = kGgufDefaultAlignment);

  // Metadata and tensors are declared as with GgufWriter (they go to the first shard).
  void set(std::string key, GgufValue value) { plan_.set(std::move(key), std::move(value)); }
  void copy_metadata_from(const GgufFile& file) { plan_.copy_metadata_from(file); }
  Status add_tensor(std::string name, std::vector<int64_t> shape, GgmlType type) {
    return plan_.add_tensor(std::move(name), std::move(shape), type);
  }

  // Assigns tensors to shards and starts the first. With one shard the output is `path`; with
  // several, `path` must end in ".gguf" and the shards are named from it.
  Status begin(const std::filesystem::path& path);
  Status write_tensor_data(std::span<const std::byte> data);
  // Renames every shard into place (or, if one fails, removes those already renamed).
  Status finish();

  // Valid after begin(): the files finish() creates, in order.
  const std::vector<std::filesystem::path>& output_paths() const { return paths_; }

 private:
  std::vector<size_t> plan_shard_sizes() const;  // tensors per shard

  GgufWriter plan_;
  uint64_t max_shard_bytes_;
  uint32_t alignment_;
  std::vector<GgufWriter> shards_;
  std::vector<std::filesystem::path> paths_;
  std::vector<size_t> tensors_left_;  // per shard, still to be written
  size_t current_ = 0;
};

}  // namespace qmix
