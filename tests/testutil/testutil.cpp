#include "testutil/testutil.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace qmix::test {

std::optional<std::filesystem::path> shared_dir() {
  std::filesystem::path p = QMIX_SHARED_DIR;
  if (const char* env = std::getenv("QMIX_SHARED_DIR")) p = env;
  if (std::filesystem::is_directory(p / "golden")) return std::filesystem::canonical(p);
  return std::nullopt;
}

std::filesystem::path testdata_dir() { return QMIX_TESTDATA_DIR; }
std::filesystem::path qmix_binary() { return QMIX_BINARY; }

TempDir::TempDir() {
  std::string templ = (std::filesystem::temp_directory_path() / "qmix-test-XXXXXX").string();
  const char* made = ::mkdtemp(templ.data());
  if (made == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<std::byte> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  in.seekg(0, std::ios::end);
  std::vector<std::byte> data(static_cast<size_t>(in.tellg()));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size()));
  return data;
}

std::string read_text(const std::filesystem::path& path) {
  const auto bytes = read_bytes(path);
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void write_bytes(const std::filesystem::path& path, const void* data, size_t size) {
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::vector<float> read_f32(const std::filesystem::path& path) {
  const auto bytes = read_bytes(path);
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

CommandResult run_command(const std::string& command_line) {
  TempDir dir;
  const auto out_path = dir / "stdout";
  const auto err_path = dir / "stderr";
  const std::string full = command_line + " >" + out_path.string() + " 2>" + err_path.string();
  const int status = std::system(full.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_text(out_path);
  r.err = read_text(err_path);
  return r;
}

}  // namespace qmix::test
