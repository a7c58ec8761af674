#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace qmix {
namespace {
constexpr size_t kBufferSize = 4 << 20;

Error io_error(const std::filesystem::path& path, std::string_view what, int err) {
  return make_error(ErrorCode::kIo, "{}: {}: {}", path.string(), what, std::strerror(err));
}
}  // namespace

Expected<AtomicFile> AtomicFile::create(const std::filesystem::path& path) {
  if (path.empty()) return make_error(ErrorCode::kInvalidArgument, "empty output path");
  std::string templ = path.string() + ".tmp-XXXXXX";
  const int fd = ::mkstemp(templ.data());
  if (fd < 0) return io_error(path, "cannot create output", errno);
  ::fchmod(fd, 0644);
  AtomicFile file;
  file.fd_ = fd;
  file.path_ = path;
  file.temp_path_ = templ;
  file.buffer_.reserve(kBufferSize);
  return file;
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept { *this = std::move(other); }

AtomicFile& AtomicFile::operator=(AtomicFile&& other) noexcept {
  if (this != &other) {
    discard();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
    temp_path_ = std::move(other.temp_path_);
    buffer_ = std::move(other.buffer_);
    written_ = std::exchange(other.written_, 0);
  }
  return *this;
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(temp_path_.c_str());
    fd_ = -1;
  }
}

Status AtomicFile::flush_buffer() {
  const std::byte* p = buffer_.data();
  size_t left = buffer_.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(path_, "write failed", errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  buffer_.clear();
  return ok_status();
}

Status AtomicFile::write(std::span<const std::byte> data) {
  if (fd_ < 0) return make_error(ErrorCode::kInternal, "write to a closed AtomicFile");
  while (!data.empty()) {
    const size_t room = kBufferSize - buffer_.size();
    const size_t n = std::min(room, data.size());
    buffer_.insert(buffer_.end(), data.begin(), data.begin() + static_cast<ptrdiff_t>(n));
    data = data.subspan(n);
    written_ += n;
    if (buffer_.size() == kBufferSize) QMIX_TRY(flush_buffer());
  }
  return ok_status();
}

Status AtomicFile::write_zeros(uint64_t count) {
  static constexpr std::byte kZeros[256] = {};
  while (count > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(count, sizeof(kZeros)));
    QMIX_TRY(write({kZeros, n}));
    count -= n;
  }
  return ok_status();
}

Status AtomicFile::commit() {
  if (fd_ < 0) return make_error(ErrorCode::kInternal, "commit of a closed AtomicFile");
  QMIX_TRY(flush_buffer());
  if (::fsync(fd_) != 0) return io_error(path_, "fsync failed", errno);
  if (::close(fd_) != 0) {
    fd_ = -1;
    ::unlink(temp_path_.c_str());
    return io_error(path_, "close failed", errno);
  }
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp_path_.c_str());
    return io_error(path_, "rename failed", err);
  }
  return ok_status();
}

}  // namespace qmix
