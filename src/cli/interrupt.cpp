#include "cli/interrupt.h"

#include <unistd.h>

#include <atomic>

#include "core/error.h"

namespace qmix::cli {
namespace {

// A signal handler receives no context pointer, so the live guard's token has to be reachable
// from a static; this is the only such state in qmix and only InterruptGuard touches it.
std::atomic<CancelToken*> g_active_token{nullptr};
static_assert(std::atomic<CancelToken*>::is_always_lock_free, "needed in a signal handler");

void on_interrupt(int signal_number) {
  CancelToken* token = g_active_token.load();
  if (token == nullptr || token->cancelled()) {
    // Second signal (or no guard): fall back to the default action, i.e. terminate now.
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
    return;
  }
  token->cancel();
  // Only async-signal-safe calls here: write(2), no stdio.
  static constexpr char kMessage[] =
      "\nqmix: interrupted, stopping (press Ctrl-C again to quit at once)\n";
  [[maybe_unused]] const auto n = ::write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
}

}  // namespace

InterruptGuard::InterruptGuard() {
  CancelToken* none = nullptr;
  const bool only_guard = g_active_token.compare_exchange_strong(none, &token_);
  QMIX_CHECK(only_guard);
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, &previous_int_);
  sigaction(SIGTERM, &action, &previous_term_);
}

InterruptGuard::~InterruptGuard() {
  sigaction(SIGINT, &previous_int_, nullptr);
  sigaction(SIGTERM, &previous_term_, nullptr);
  g_active_token.store(nullptr);
}

}  // namespace qmix::cli
