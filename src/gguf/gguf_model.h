// A model as one or more GGUF files: split models (`name-00001-of-0000N.gguf` with `split.*`
// keys) open as one, with metadata from the first shard and tensors from all.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "gguf/gguf_file.h"

namespace qmix {

struct GgufTensorRef {
  const GgufTensorInfo* info = nullptr;
  size_t shard = 0;
};

class GgufModel {
 public:
  // Opens `path`; when it is a shard of a split model, opens all shards.
  static Expected<GgufModel> open(const std::filesystem::path& path);

  const GgufFile& metadata() const { return shards_.front(); }  // KVs of the first shard
  const std::vector<GgufFile>& shards() const { return shards_; }
  const std::vector<GgufTensorRef>& tensors() const { return tensors_; }
  const GgufTensorRef* find_tensor(std::string_view name) const;
  std::span<const std::byte> tensor_data(const GgufTensorRef& t) const {
    return shards_[t.shard].tensor_data(*t.info);
  }
  uint64_t total_file_size() const;
  std::string display_name() const { return shards_.front().name(); }

 private:
  Status index_tensors();
  std::vector<GgufFile> shards_;
  std::vector<GgufTensorRef> tensors_;
  std::unordered_map<std::string, size_t> index_;
};

// "dir/model-00002-of-00005.gguf" for prefix "dir/model", shard 2 of 5 (llama.cpp's naming).
std::string gguf_split_path(const std::string& prefix, int shard_no, int shard_count);

}  // namespace qmix
