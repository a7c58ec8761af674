// A workflow is an ordered list of steps; each names the files it reads, a canonical text of
// its parameters and the files it writes. A step depends on the steps that write its inputs
// (the graph is implied by file names, so it cannot disagree with what the steps do).
//
// run_workflow executes the steps in order, skipping each one whose parameters, input contents
// and output contents match what the state file recorded when it last completed. Because the
// comparison is by content, changing one input reruns exactly the steps downstream of it whose
// inputs actually changed. Every completed step is recorded (and the state saved) at once, so
// a failure or interruption keeps the work done so far; the failing step's record is dropped so
// that it runs again next time.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/progress.h"

namespace qmix::workflow {

struct StepContext {
  ProgressSink* progress = nullptr;  // never null inside a step (a NullProgress at worst)
  WarningSink* warnings = nullptr;   // may be null
  const CancelToken* cancel = nullptr;
};

struct Step {
  std::string id;     // "convert", "imatrix.domain" (also the --from name)
  std::string title;  // one line for humans
  std::vector<std::filesystem::path> inputs;
  std::string params;  // canonical text of everything else the result depends on
  std::vector<std::filesystem::path> outputs;
  std::function<Status(const StepContext&)> run;
};

enum class StepAction {
  kRan,
  kSkipped,   // up to date
  kWouldRun,  // dry run
  kFailed,
  kNotReached,  // after a failure
};
std::string_view step_action_name(StepAction action);  // "ran", "skipped", …

struct StepOutcome {
  std::string id;
  StepAction action = StepAction::kNotReached;
  std::string reason;  // why it ran or would run ("input text/a.txt changed"), or "up to date"
  double seconds = 0;
};

// Told about each step as the run goes (the CLI prints progress lines from this).
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void step_starting(const Step& step, size_t index, size_t count,
                             std::string_view reason) = 0;
  virtual void step_finished(const Step& step, const StepOutcome& outcome, size_t index,
                             size_t count) = 0;
};

enum class RunMode {
  kIfChanged,  // skip up-to-date steps
  kForceAll,   // --force: run every step
};
enum class Execution {
  kExecute,
  kDryRun,  // only decide and report; nothing runs, the state file is untouched
};

struct RunOptions {
  RunMode mode = RunMode::kIfChanged;
  Execution execution = Execution::kExecute;
  std::string from;  // non-empty: this step and every later one run regardless
  RunObserver* observer = nullptr;
  StepContext context;
};

struct RunReport {
  std::vector<StepOutcome> steps;  // one per step, in order
  std::optional<Error> failure;    // the failing step's error, "step ID: message"
};

// Errors before anything runs: duplicate step ids or outputs, a step reading a file that only a
// later step writes, an unknown `from`, an unreadable state file. A failing step is reported in
// RunReport::failure, with the state of the steps before it saved.
Expected<RunReport> run_workflow(const std::vector<Step>& steps,
                                 const std::filesystem::path& state_file,
                                 const RunOptions& options);

}  // namespace qmix::workflow
