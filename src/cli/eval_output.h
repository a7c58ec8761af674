// Printing of evaluation results (perplexity, KLD, comparisons) shared by the eval commands.
#pragma once

#include <nlohmann/json.hpp>

#include "core/progress.h"
#include "eval/evaluate.h"

namespace qmix::cli {

// What an evaluation shows on the terminal while it runs: llama-perplexity's running
// "[chunk]ppl" values (text mode only); Ctrl-C cancels.
class TerminalEval {
 public:
  explicit TerminalEval(bool json) : json_(json) {}
  ~TerminalEval();
  ProgressSink* progress() { return nullptr; }
  const CancelToken* cancel() { return nullptr; }
  void chunk_line(int64_t chunk, double ppl);

 private:
  bool json_;
  bool printed_ = false;
};

nlohmann::json kld_json(const KldReport& r);
nlohmann::json eval_json(const EvalOutcome& out);
void print_eval_text(const EvalOutcome& out);

}  // namespace qmix::cli
