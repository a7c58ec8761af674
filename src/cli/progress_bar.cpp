#include "cli/progress_bar.h"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

namespace qmix::cli {
namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
constexpr size_t kMaxLabel = 40;  // keeps the line inside an 80-column terminal

std::string format_amount(uint64_t done, uint64_t total, ProgressUnit unit) {
  if (unit == ProgressUnit::kCount) return fmt::format("{}/{}", done, total);
  constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double scale = 1;
  size_t u = 0;
  while (u + 1 < std::size(kUnits) && static_cast<double>(total) >= 1024 * scale) {
    scale *= 1024;
    ++u;
  }
  return fmt::format("{:.1f}/{:.1f} {}", static_cast<double>(done) / scale,
                     static_cast<double>(total) / scale, kUnits[u]);
}

std::string format_duration(double seconds) {
  const auto s = static_cast<uint64_t>(std::max(0.0, seconds));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

bool stream_is_tty(std::FILE* stream) {
  const int fd = fileno(stream);
  return fd >= 0 && isatty(fd) == 1;
}

}  // namespace

std::string format_progress_line(std::string_view title, uint64_t done, uint64_t total,
                                 std::string_view label, ProgressUnit unit, double elapsed_s,
                                 int width) {
  const double fraction =
      total == 0 ? 0.0 : std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
  const int filled = static_cast<int>(fraction * width);
  std::string line = fmt::format("{} [{}{}] {:3d}%  {}", title, std::string(filled, '#'),
                                 std::string(width - filled, ' '), static_cast<int>(fraction * 100),
                                 format_amount(done, total, unit));
  // The ETA is only meaningful once some work is done and some time has passed.
  if (fraction > 0.0 && fraction < 1.0 && elapsed_s >= 1.0)
    line += "  eta " + format_duration(elapsed_s * (1.0 - fraction) / fraction);
  if (!label.empty()) {
    line += "  ";
    line += label.size() <= kMaxLabel ? label : label.substr(label.size() - kMaxLabel);
  }
  return line;
}

ProgressBar::ProgressBar(std::string title, ProgressUnit unit, ProgressDraw draw, std::FILE* stream)
    : title_(std::move(title)),
      unit_(unit),
      stream_(stream),
      enabled_(draw == ProgressDraw::kAlways ||
               (draw == ProgressDraw::kAuto && stream_is_tty(stream))),
      start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(uint64_t done, uint64_t total, std::string_view label) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  // Always draw the final state; otherwise throttle so tight loops cost nothing.
  if (done < total && drawn_ && now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;
  draw_locked(done, total, label);
}

void ProgressBar::draw_locked(uint64_t done, uint64_t total, std::string_view label) {
  const double elapsed = std::chrono::duration<double>(last_draw_ - start_).count();
  const std::string line = format_progress_line(title_, done, total, label, unit_, elapsed);
  // "\r" + erase-to-end-of-line: redraw in place without leftovers from a longer label.
  std::fprintf(stream_, "\r%s\x1b[K", line.c_str());
  std::fflush(stream_);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (!enabled_) return;
  std::lock_guard lock(mutex_);
  if (!drawn_) return;
  std::fputs("\r\x1b[K", stream_);
  std::fflush(stream_);
  drawn_ = false;
}

}  // namespace qmix::cli
