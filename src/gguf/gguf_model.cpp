#include "gguf/gguf_model.h"

#include <regex>

#include <fmt/format.h>

namespace qmix {

std::string gguf_split_path(const std::string& prefix, int shard_no, int shard_count) {
  return fmt::format("{}-{:05d}-of-{:05d}.gguf", prefix, shard_no, shard_count);
}

Expected<GgufModel> GgufModel::open(const std::filesystem::path& path) {
  GgufModel model;
  QMIX_TRY_ASSIGN(auto first, GgufFile::open(path));
  QMIX_TRY_ASSIGN(const int64_t count, first.get_int_or("split.count", 1));
  model.shards_.push_back(std::move(first));
  if (count > 1) {
    if (count > 9999)
      return make_error(ErrorCode::kCorrupt, "{}: split.count {} is absurd", path.string(), count);
    static const std::regex kSplitName(R"((.*)-(\d{5})-of-(\d{5})\.gguf)");
    std::smatch m;
    const std::string p = path.string();
    if (!std::regex_match(p, m, kSplitName))
      return make_error(ErrorCode::kInvalidArgument,
                        "{}: split.count is {} but the name is not <prefix>-NNNNN-of-NNNNN.gguf", p,
                        count);
    if (std::stoi(m[2].str()) != 1)
      return make_error(ErrorCode::kInvalidArgument,
                        "{}: open the first shard (-00001-of-…) of a split model", p);
    for (int i = 2; i <= count; ++i) {
      auto shard = GgufFile::open(gguf_split_path(m[1].str(), i, static_cast<int>(count)));
      if (!shard.ok()) return shard.error().with_context(fmt::format("shard {} of {}", i, count));
      model.shards_.push_back(std::move(shard).value());
    }
  }
  QMIX_TRY(model.index_tensors());
  return model;
}

Status GgufModel::index_tensors() {
  for (size_t s = 0; s < shards_.size(); ++s)
    for (const auto& t : shards_[s].tensors()) {
      if (index_.count(t.name))
        return make_error(ErrorCode::kCorrupt, "{}: tensor '{}' appears in two shards",
                          shards_[s].name(), t.name);
      index_.emplace(t.name, tensors_.size());
      tensors_.push_back({&t, s});
    }
  return ok_status();
}

const GgufTensorRef* GgufModel::find_tensor(std::string_view name) const {
  const auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

uint64_t GgufModel::total_file_size() const {
  uint64_t total = 0;
  for (const auto& s : shards_) total += s.file_size();
  return total;
}

}  // namespace qmix
