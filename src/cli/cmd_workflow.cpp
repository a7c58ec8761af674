// `qmix workflow CONFIG.toml`: the whole method on one model, resumable (src/workflow,
// docs/workflow.md). One line per step says whether it ran or was skipped and why; a bar shows
// progress inside a step on a terminal.
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/interrupt.h"
#include "cli/progress_bar.h"
#include "workflow/method.h"

namespace qmix::cli {
namespace {

namespace fs = std::filesystem;
using workflow::RunReport;
using workflow::Step;
using workflow::StepAction;
using workflow::StepOutcome;

struct WorkflowArgs {
  std::string config, from;
  bool force = false, dry_run = false, json = false;
};

// Steps whose progress counts bytes (the others count chunks, models or tensors).
constexpr std::string_view kByteSteps[] = {"convert", "quantize."};

ProgressUnit unit_of(const Step& step) {
  for (std::string_view prefix : kByteSteps)
    if (step.id.rfind(prefix, 0) == 0) return ProgressUnit::kBytes;
  return ProgressUnit::kCount;
}

// Prints a line per step (to stderr with --json, so stdout stays one JSON document) and hands
// the library a progress bar titled with the running step.
class StepPrinter final : public workflow::RunObserver, public ProgressSink, public WarningSink {
 public:
  explicit StepPrinter(std::FILE* out) : out_(out) {}

  void step_starting(const Step& step, size_t index, size_t count,
                     std::string_view reason) override {
    std::fprintf(out_, "[%zu/%zu] %s: %s (%.*s)\n", index + 1, count, step.id.c_str(),
                 step.title.c_str(), static_cast<int>(reason.size()), reason.data());
    std::fflush(out_);
    bar_ = std::make_unique<ProgressBar>(step.id, unit_of(step));
  }
  void step_finished(const Step& step, const StepOutcome& o, size_t index, size_t count) override {
    if (bar_) bar_->finish();
    bar_.reset();
    if (o.action == StepAction::kRan)
      std::fprintf(out_, "        done in %.1f s\n", o.seconds);
    else if (o.action != StepAction::kFailed)
      std::fprintf(out_, "[%zu/%zu] %s: %s (%s)\n", index + 1, count, step.id.c_str(),
                   std::string(workflow::step_action_name(o.action)).c_str(), o.reason.c_str());
    std::fflush(out_);
  }
  void update(uint64_t done, uint64_t total, std::string_view label) override {
    if (bar_) bar_->update(done, total, label);
  }
  void warn(std::string_view message) override {
    if (bar_) bar_->finish();
    std::fprintf(stderr, "qmix: warning: %.*s\n", static_cast<int>(message.size()), message.data());
  }

 private:
  std::FILE* out_;
  std::unique_ptr<ProgressBar> bar_;
};

nlohmann::json report_json(const RunReport& r, const workflow::WorkflowPaths& paths) {
  nlohmann::json steps = nlohmann::json::array();
  for (const StepOutcome& o : r.steps)
    steps.push_back({{"id", o.id},
                     {"action", workflow::step_action_name(o.action)},
                     {"reason", o.reason},
                     {"seconds", o.seconds}});
  return {{"schema", "qmix.workflow-run/1"},
          {"steps", steps},
          {"report", paths.report.string()},
          {"state", paths.state.string()},
          {"error", r.failure ? nlohmann::json(r.failure->message) : nlohmann::json(nullptr)}};
}

void print_summary(const RunReport& r, const workflow::WorkflowPaths& paths, bool dry_run) {
  size_t counts[5] = {};
  for (const StepOutcome& o : r.steps) ++counts[static_cast<size_t>(o.action)];
  std::printf("%zu ran, %zu skipped (up to date)%s\n", counts[0], counts[1],
              dry_run ? fmt::format(", {} would run", counts[2]).c_str() : "");
  if (dry_run || r.failure) return;
  // Relative to the working directory when inside it: the line a person copies.
  std::error_code ec;
  const fs::path shown = fs::proximate(paths.report, ec);
  std::printf("report: %s\n", (ec ? paths.report : shown).string().c_str());
}

int run_workflow_command(const WorkflowArgs& a) {
  auto config = workflow::load_workflow_config(a.config);
  if (!config.ok()) return report_error(config.error());
  const auto steps = workflow::method_steps(*config);
  const workflow::WorkflowPaths paths = workflow::workflow_paths(*config);
  StepPrinter printer(a.json ? stderr : stdout);
  InterruptGuard interrupt;
  workflow::RunOptions o;
  o.mode = a.force ? workflow::RunMode::kForceAll : workflow::RunMode::kIfChanged;
  o.execution = a.dry_run ? workflow::Execution::kDryRun : workflow::Execution::kExecute;
  o.from = a.from;
  o.observer = &printer;
  o.context.progress = &printer;
  o.context.warnings = &printer;
  o.context.cancel = &interrupt.token();
  auto r = workflow::run_workflow(steps, paths.state, o);
  if (!r.ok()) return report_error(r.error());
  if (a.json)
    std::printf("%s\n", report_json(*r, paths).dump(1).c_str());
  else
    print_summary(*r, paths, a.dry_run);
  return r->failure ? report_error(*r->failure) : 0;
}

}  // namespace

void register_workflow(CLI::App& app, CommandTable& table) {
  auto a = std::make_shared<WorkflowArgs>();
  CLI::App* sub = app.add_subcommand(
      "workflow",
      "The whole method from one config file: convert, imatrix, compare, recipes, quantize, "
      "evaluate, fit, report; reruns only what changed");
  sub->add_option("config", a->config, "workflow file (TOML, docs/workflow.md)")->required();
  sub->add_option("--from", a->from, "run this step and every later one regardless");
  sub->add_flag("--force", a->force, "run every step");
  sub->add_flag("--dry-run", a->dry_run, "say what would run and why; run nothing");
  sub->add_flag("--json", a->json, "print the run as JSON (step lines go to stderr)");
  table.add(sub, [a] { return run_workflow_command(*a); });
}

}  // namespace qmix::cli
