// How long-running library work reports progress, warnings and learns of cancellation,
// without printing: the CLI supplies the implementations (terminal bar, stderr lines).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace qmix {

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  // `done` of `total` units (bytes, tensors, tokens), with a short label of the current item.
  virtual void update(uint64_t done, uint64_t total, std::string_view label) = 0;
  virtual void finish() {}
};

class NullProgress final : public ProgressSink {
 public:
  void update(uint64_t, uint64_t, std::string_view) override {}
};

class WarningSink {
 public:
  virtual ~WarningSink() = default;
  virtual void warn(std::string_view message) = 0;
};

// Set from a signal handler in the CLI; library loops poll it and return ErrorCode::kCancelled.
class CancelToken {
 public:
  void cancel() { flag_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return flag_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> flag_{false};
};

}  // namespace qmix
