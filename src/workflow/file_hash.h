// Content hashes of files (XXH3, 64 bit) for the workflow's up-to-date checks. Hashing a
// multi-GiB model on every run would cost seconds, so a file whose size and modification time
// match an earlier hash keeps that hash (the same shortcut make and ninja take, with the
// content hash as the real identity).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "core/error.h"

namespace qmix::workflow {

struct FileFingerprint {
  std::string hash;  // 16 hex digits of XXH3-64 over the file's bytes
  uint64_t size = 0;
  int64_t mtime_ns = 0;
};

// XXH3-64 of the whole file, as 16 hex digits. Errors name the file.
Expected<std::string> hash_file(const std::filesystem::path& path);
// XXH3-64 of a string (step parameters), as 16 hex digits.
std::string hash_text(std::string_view text);

class FileHasher {
 public:
  // `known`: fingerprints from an earlier run, by key (the state file's name for a path).
  explicit FileHasher(std::map<std::string, FileFingerprint> known = {})
      : known_(std::move(known)) {}
  // The file's fingerprint, reusing the hash known under `key` when size and mtime are unchanged.
  Expected<FileFingerprint> fingerprint(const std::filesystem::path& path, const std::string& key);
  // Forgets a key (its file was just rewritten; its mtime may not have moved within the clock's
  // resolution).
  void forget(const std::string& key) { known_.erase(key); }

 private:
  std::map<std::string, FileFingerprint> known_;
};

}  // namespace qmix::workflow
