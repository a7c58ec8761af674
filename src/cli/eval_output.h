// Printing of evaluation results (perplexity, KLD, comparisons) shared by the eval commands.
#pragma once

#include <nlohmann/json.hpp>

#include "cli/interrupt.h"
#include "cli/progress_bar.h"
#include "core/progress.h"
#include "eval/eval_json.h"
#include "eval/evaluate.h"

namespace qmix::cli {

// What an evaluation shows on the terminal while it runs: llama-perplexity's running
// "[chunk]ppl" values (text mode only); Ctrl-C cancels.
class TerminalEval {
 public:
  explicit TerminalEval(bool json) : json_(json) {}
  ~TerminalEval();
  // The running per-chunk values already show progress in text mode; JSON runs get the bar.
  ProgressSink* progress() { return json_ ? &bar_ : nullptr; }
  const CancelToken* cancel() { return &interrupt_.token(); }
  void chunk_line(int64_t chunk, double ppl);

 private:
  bool json_;
  bool printed_ = false;
  ProgressBar bar_{"perplexity"};
  InterruptGuard interrupt_;
};

void print_eval_text(const EvalOutcome& out);

}  // namespace qmix::cli
