// The CLI's one progress bar: a ProgressSink that redraws a single line on stderr, and only
// when stderr is a terminal (pipes, CI logs and tests see nothing).
//
// Usage in a subcommand:
//   ProgressBar bar("quantize", ProgressUnit::kBytes);   // draws on a TTY, else silent
//   options.progress = &bar;                             // library calls bar.update(...)
//   ... run ...
//   bar.finish();                                        // clears the line (also on destruction)
// update() is thread-safe and cheap: it redraws at most every 100 ms.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

#include "core/progress.h"

namespace qmix::cli {

// How `done`/`total` are printed: "12.5/40.0 MiB" for bytes, "12/40" for counts.
enum class ProgressUnit { kCount, kBytes };

// kAuto draws only when the stream is a TTY; kAlways is for tests of the drawing itself.
enum class ProgressDraw { kAuto, kAlways, kNever };

class ProgressBar final : public ProgressSink {
 public:
  explicit ProgressBar(std::string title, ProgressUnit unit = ProgressUnit::kCount,
                       ProgressDraw draw = ProgressDraw::kAuto, std::FILE* stream = stderr);
  ~ProgressBar() override;
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(uint64_t done, uint64_t total, std::string_view label) override;
  // Erases the bar so that whatever is printed next starts on a clean line. Idempotent.
  void finish() override;

  bool enabled() const { return enabled_; }

 private:
  void draw_locked(uint64_t done, uint64_t total, std::string_view label);

  std::string title_;
  ProgressUnit unit_;
  std::FILE* stream_;
  bool enabled_;
  std::mutex mutex_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_{};
};

// The text of one bar line (without "\r"), e.g.
// "quantize [#########           ]  45%  1.2/2.7 GiB  eta 0:12  blk.3.ffn_up.weight".
// Exposed for tests; `width` is the number of cells inside the brackets.
std::string format_progress_line(std::string_view title, uint64_t done, uint64_t total,
                                 std::string_view label, ProgressUnit unit, double elapsed_s,
                                 int width = 24);

}  // namespace qmix::cli
