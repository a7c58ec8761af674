// Helpers shared by the test programs: where the reference material is, temp dirs, files.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace qmix::test {

// ../shared beside the checkout (or $QMIX_SHARED_DIR), if present.
std::optional<std::filesystem::path> shared_dir();
std::filesystem::path testdata_dir();
std::filesystem::path qmix_binary();

// A fresh directory removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

std::vector<std::byte> read_bytes(const std::filesystem::path& path);
std::string read_text(const std::filesystem::path& path);
void write_bytes(const std::filesystem::path& path, const void* data, size_t size);
std::vector<float> read_f32(const std::filesystem::path& path);

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs a shell command line, capturing stdout and stderr.
CommandResult run_command(const std::string& command_line);

}  // namespace qmix::test

// Skips the current test when ../shared is missing, saying so clearly.
#define QMIX_REQUIRE_SHARED(var)                                                          \
  const auto var##_opt = ::qmix::test::shared_dir();                                      \
  if (!var##_opt) GTEST_SKIP() << "skipped: ../shared reference material is not present"; \
  const std::filesystem::path var = *var##_opt
