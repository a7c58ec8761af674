// Output file written to "<path>.tmp-XXXXXX" in the target directory and renamed into place
// on commit(). Destroying an uncommitted AtomicFile removes the temporary, so a failed or
// interrupted write never leaves a partial output behind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"

namespace qmix {

class AtomicFile {
 public:
  static Expected<AtomicFile> create(const std::filesystem::path& path);

  AtomicFile() = default;
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&& other) noexcept;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  // Buffered sequential write; reports ENOSPC and other failures with the target path.
  Status write(std::span<const std::byte> data);
  Status write_zeros(uint64_t count);
  uint64_t bytes_written() const { return written_; }

  // Flushes, fsyncs and renames over the target path.
  Status commit();

  const std::filesystem::path& path() const { return path_; }
  const std::filesystem::path& temp_path() const { return temp_path_; }

 private:
  Status flush_buffer();
  void discard();

  int fd_ = -1;
  std::filesystem::path path_;
  std::filesystem::path temp_path_;
  std::vector<std::byte> buffer_;
  uint64_t written_ = 0;
};

}  // namespace qmix
