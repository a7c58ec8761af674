#include "gguf/gguf_model.h"

#include <fmt/format.h>

namespace qmix {

std::string gguf_split_path(const std::string& prefix, int shard_no, int shard_count) {
  return fmt::format("{}-{:05d}-of-{:05d}.gguf", prefix, shard_no, shard_count);
}

namespace {

// Five decimal digits, as llama.cpp's split naming writes them.
std::optional<int> parse_five_digits(std::string_view s) {
  if (s.size() != 5) return std::nullopt;
  int value = 0;
  for (const char c : s) {  // digits only: no sign, no spaces
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

// A plain parser rather than std::regex: fixed-width fields need no backtracking, and GCC's
// <regex> trips -Wmaybe-uninitialized false positives under -fsanitize (breaking -Werror).
std::optional<GgufSplitName> parse_gguf_split_path(std::string_view path) {
  constexpr std::string_view kExt = ".gguf";
  constexpr std::string_view kOf = "-of-";
  // "<prefix>-NNNNN-of-NNNNN.gguf": the fixed tail is 1 + 5 + 4 + 5 + 5 characters.
  constexpr size_t kTail = 1 + 5 + kOf.size() + 5 + kExt.size();
  if (path.size() < kTail || !path.ends_with(kExt)) return std::nullopt;
  const std::string_view tail = path.substr(path.size() - kTail);
  if (tail[0] != '-' || tail.substr(6, kOf.size()) != kOf) return std::nullopt;
  const auto shard = parse_five_digits(tail.substr(1, 5));
  const auto count = parse_five_digits(tail.substr(6 + kOf.size(), 5));
  if (!shard || !count) return std::nullopt;
  return GgufSplitName{std::string(path.substr(0, path.size() - kTail)), *shard, *count};
}

Expected<GgufModel> GgufModel::open(const std::filesystem::path& path) {
  GgufModel model;
  QMIX_TRY_ASSIGN(auto first, GgufFile::open(path));
  QMIX_TRY_ASSIGN(const int64_t count, first.get_int_or("split.count", 1));
  model.shards_.push_back(std::move(first));
  if (count > 1) QMIX_TRY(model.open_other_shards(path.string(), count));
  QMIX_TRY(model.index_tensors());
  QMIX_TRY_ASSIGN(const int64_t declared,
                  model.metadata().get_int_or("split.tensors.count",
                                              static_cast<int64_t>(model.tensors_.size())));
  if (declared != static_cast<int64_t>(model.tensors_.size()))
    return make_error(ErrorCode::kCorrupt, "{}: split.tensors.count is {} but the shards hold {}",
                      path.string(), declared, model.tensors_.size());
  return model;
}

Status GgufModel::open_other_shards(const std::string& first_path, int64_t count) {
  if (count > 99999)
    return make_error(ErrorCode::kCorrupt, "{}: split.count {} is absurd", first_path, count);
  const auto split = parse_gguf_split_path(first_path);
  if (!split || split->count != count)
    return make_error(ErrorCode::kInvalidArgument,
                      "{}: split.count is {} but the name is not <prefix>-00001-of-{:05d}.gguf",
                      first_path, count, count);
  if (split->shard != 1)
    return make_error(ErrorCode::kInvalidArgument,
                      "{}: open the first shard (-00001-of-…) of a split model", first_path);
  for (int i = 2; i <= count; ++i) {
    const std::string shard_path = gguf_split_path(split->prefix, i, static_cast<int>(count));
    auto shard = GgufFile::open(shard_path);
    if (!shard.ok()) return shard.error().with_context(fmt::format("shard {} of {}", i, count));
    // split.no is 0-based in llama.cpp's files; a mismatch means shards of different models.
    QMIX_TRY_ASSIGN(const int64_t no, shard->get_int_or("split.no", i - 1));
    if (no != i - 1)
      return make_error(ErrorCode::kCorrupt, "{}: split.no is {}, expected {}", shard_path, no,
                        i - 1);
    shards_.push_back(std::move(shard).value());
  }
  return ok_status();
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
