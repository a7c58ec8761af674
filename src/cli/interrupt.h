// The CLI's one Ctrl-C handler: while an InterruptGuard lives, SIGINT/SIGTERM set its
// CancelToken instead of killing the process, so library loops that poll the token stop
// cleanly (returning ErrorCode::kCancelled) and AtomicFile outputs are discarded.
// A second Ctrl-C restores the default action and kills the process at once.
//
// Usage in a subcommand (one guard at a time, for the duration of the long work):
//   InterruptGuard interrupt;
//   options.cancel = &interrupt.token();
//   const Status s = long_running_work(options);    // returns kCancelled after Ctrl-C
//   return s.ok() ? 0 : report_error(s.error());    // "qmix: error: ... cancelled", exit 1
#pragma once

#include <csignal>

#include "core/progress.h"

namespace qmix::cli {

class InterruptGuard {
 public:
  InterruptGuard();   // installs the handlers; QMIX_CHECKs that no other guard is alive
  ~InterruptGuard();  // restores the previous handlers
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

  const CancelToken& token() const { return token_; }
  bool interrupted() const { return token_.cancelled(); }

 private:
  CancelToken token_;
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
};

}  // namespace qmix::cli
