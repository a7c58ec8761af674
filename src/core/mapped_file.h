// Read-only memory-mapped file; inputs are never modified.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>

#include "core/error.h"

namespace qmix {

class MappedFile {
 public:
  static Expected<MappedFile> open(const std::filesystem::path& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  // A hint that `range` (inside bytes()) will not be read again soon: its whole pages leave the
  // process's resident set, staying in the page cache. Reading them later remains valid (they
  // fault back in from the file). Lets streaming readers keep their memory bounded.
  void drop_pages(std::span<const std::byte> range) const;
  size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  void release();
  const std::byte* data_ = nullptr;
  size_t size_ = 0;
  std::filesystem::path path_;
};

}  // namespace qmix
