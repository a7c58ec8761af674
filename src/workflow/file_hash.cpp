#include "workflow/file_hash.h"

#include <xxhash.h>

#include <chrono>

#include "core/mapped_file.h"

namespace qmix::workflow {

namespace fs = std::filesystem;

namespace {
std::string hex64(XXH64_hash_t h) { return fmt::format("{:016x}", static_cast<uint64_t>(h)); }
}  // namespace

Expected<std::string> hash_file(const fs::path& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec) && fs::file_size(path, ec) == 0)
    return hex64(XXH3_64bits("", 0));
  QMIX_TRY_ASSIGN(const MappedFile file, MappedFile::open(path));
  const auto bytes = file.bytes();
  return hex64(XXH3_64bits(bytes.data(), bytes.size()));
}

std::string hash_text(std::string_view text) {
  return hex64(XXH3_64bits(text.data(), text.size()));
}

Expected<FileFingerprint> FileHasher::fingerprint(const fs::path& path, const std::string& key) {
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) return make_error(ErrorCode::kNotFound, "{}: {}", path.string(), ec.message());
  const auto mtime = fs::last_write_time(path, ec);
  if (ec) return make_error(ErrorCode::kIo, "{}: {}", path.string(), ec.message());
  const int64_t mtime_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count();
  const auto it = known_.find(key);
  if (it != known_.end() && it->second.size == size && it->second.mtime_ns == mtime_ns)
    return it->second;
  QMIX_TRY_ASSIGN(std::string hash, hash_file(path));
  FileFingerprint f{std::move(hash), size, mtime_ns};
  known_[key] = f;
  return f;
}

}  // namespace qmix::workflow
