// A model as one or more GGUF files: split models (`name-00001-of-0000N.gguf` with `split.*`
// keys) open as one, with metadata from the first shard and tensors from all.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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
  void drop_tensor_pages(const GgufTensorRef& t) const {
    shards_[t.shard].drop_tensor_pages(*t.info);
  }
  uint64_t total_file_size() const;
  std::string display_name() const { return shards_.front().name(); }

 private:
  Status open_other_shards(const std::string& first_path, int64_t count);
  Status index_tensors();
  std::vector<GgufFile> shards_;
  std::vector<GgufTensorRef> tensors_;
  std::unordered_map<std::string, size_t> index_;
};

// "dir/model-00002-of-00005.gguf" for prefix "dir/model", shard 2 of 5 (llama.cpp's naming).
std::string gguf_split_path(const std::string& prefix, int shard_no, int shard_count);

struct GgufSplitName {
  std::string prefix;  // "dir/model"
  int shard = 0;       // 1-based
  int count = 0;
};
// The inverse of gguf_split_path; nullopt when the name does not follow the pattern.
std::optional<GgufSplitName> parse_gguf_split_path(std::string_view path);

}  // namespace qmix
