#include "workflow/runner.h"

#include <chrono>
#include <map>
#include <set>

#include "workflow/file_hash.h"
#include "workflow/state.h"

namespace qmix::workflow {

namespace fs = std::filesystem;

std::string_view step_action_name(StepAction action) {
  switch (action) {
    case StepAction::kRan:
      return "ran";
    case StepAction::kSkipped:
      return "skipped";
    case StepAction::kWouldRun:
      return "would run";
    case StepAction::kFailed:
      return "failed";
    case StepAction::kNotReached:
      return "not reached";
  }
  return "?";
}

namespace {

// Which step writes each output, after checking the steps form a valid order.
Expected<std::map<std::string, size_t>> producers_of(const std::vector<Step>& steps) {
  std::map<std::string, size_t> producer;
  std::set<std::string> ids;
  for (size_t i = 0; i < steps.size(); ++i) {
    if (!ids.insert(steps[i].id).second)
      return make_error(ErrorCode::kInvalidArgument, "two workflow steps are named '{}'",
                        steps[i].id);
    for (const fs::path& out : steps[i].outputs)
      if (!producer.emplace(out.generic_string(), i).second)
        return make_error(ErrorCode::kInvalidArgument, "steps '{}' and '{}' both write {}",
                          steps[producer[out.generic_string()]].id, steps[i].id, out.string());
  }
  for (size_t i = 0; i < steps.size(); ++i)
    for (const fs::path& in : steps[i].inputs) {
      const auto it = producer.find(in.generic_string());
      if (it != producer.end() && it->second >= i)
        return make_error(ErrorCode::kInvalidArgument,
                          "step '{}' reads {}, which step '{}' writes later", steps[i].id,
                          in.string(), steps[it->second].id);
    }
  return producer;
}

Expected<size_t> from_index(const std::vector<Step>& steps, const std::string& from) {
  if (from.empty()) return steps.size();
  for (size_t i = 0; i < steps.size(); ++i)
    if (steps[i].id == from) return i;
  std::string names;
  for (const Step& s : steps) names += (names.empty() ? "" : ", ") + s.id;
  return make_error(ErrorCode::kInvalidArgument, "no workflow step '{}' (steps: {})", from, names);
}

class Run {
 public:
  Run(const std::vector<Step>& steps, const fs::path& state_file, const RunOptions& options,
      WorkflowState state, std::map<std::string, size_t> producer, size_t from)
      : steps_(steps),
        state_file_(state_file),
        options_(options),
        state_(std::move(state)),
        hasher_(state_.known_files()),
        producer_(std::move(producer)),
        from_(from),
        state_dir_(fs::absolute(state_file).lexically_normal().parent_path()) {}

  RunReport execute();

 private:
  // Why the step must run; nullopt when it is up to date.
  Expected<std::optional<std::string>> reason_to_run(size_t i);
  std::optional<std::string> changed_file(const std::map<std::string, FileFingerprint>& recorded,
                                          const fs::path& path, std::string_view what);
  Status run_step(size_t i, StepOutcome& outcome);
  Status record(size_t i, double seconds);

  const std::vector<Step>& steps_;
  const fs::path& state_file_;
  const RunOptions& options_;
  WorkflowState state_;
  FileHasher hasher_;
  std::map<std::string, size_t> producer_;
  size_t from_;
  std::set<size_t> pending_;  // dry run: steps that would run (their outputs are not final)
  fs::path state_dir_;

  // How the state file names a path.
  std::string key(const fs::path& path) const {
    return fs::absolute(path).lexically_normal().lexically_proximate(state_dir_).generic_string();
  }
  Expected<FileFingerprint> fingerprint(const fs::path& path) {
    return hasher_.fingerprint(path, key(path));
  }
};

std::optional<std::string> Run::changed_file(const std::map<std::string, FileFingerprint>& recorded,
                                             const fs::path& path, std::string_view what) {
  const auto it = recorded.find(key(path));
  if (it == recorded.end()) return fmt::format("new {} {}", what, path.string());
  auto now = fingerprint(path);
  if (!now.ok()) return fmt::format("{} {} is missing", what, path.string());
  if (now->hash != it->second.hash) return fmt::format("{} {} changed", what, path.string());
  return std::nullopt;
}

Expected<std::optional<std::string>> Run::reason_to_run(size_t i) {
  const Step& step = steps_[i];
  if (options_.mode == RunMode::kForceAll) return std::optional<std::string>("forced (--force)");
  if (i >= from_) return std::optional<std::string>(fmt::format("--from {}", steps_[from_].id));
  const auto rec = state_.steps.find(step.id);
  if (rec == state_.steps.end()) return std::optional<std::string>("not run before");
  if (rec->second.params_hash != hash_text(step.params))
    return std::optional<std::string>("parameters changed");
  for (const fs::path& in : step.inputs) {
    const auto p = producer_.find(in.generic_string());
    if (p != producer_.end() && pending_.count(p->second))
      return std::optional<std::string>(
          fmt::format("input {} is rebuilt by '{}' first", in.string(), steps_[p->second].id));
    if (auto why = changed_file(rec->second.inputs, in, "input")) return why;
  }
  for (const fs::path& out : step.outputs)
    if (auto why = changed_file(rec->second.outputs, out, "output")) return why;
  return std::optional<std::string>();
}

Status Run::record(size_t i, double seconds) {
  const Step& step = steps_[i];
  StepRecord r;
  r.params_hash = hash_text(step.params);
  r.seconds = seconds;
  for (const fs::path& in : step.inputs) {
    QMIX_TRY_ASSIGN(r.inputs[key(in)], fingerprint(in));
  }
  for (const fs::path& out : step.outputs) {
    hasher_.forget(key(out));  // just rewritten: hash the new bytes
    auto f = fingerprint(out);
    if (!f.ok())
      return make_error(ErrorCode::kInternal, "did not write its output {}", out.string());
    r.outputs[key(out)] = *f;
  }
  state_.steps[step.id] = std::move(r);
  return save_state(state_, state_file_);
}

Status Run::run_step(size_t i, StepOutcome& outcome) {
  const Step& step = steps_[i];
  for (const fs::path& in : step.inputs) {
    std::error_code ec;
    if (!fs::exists(in, ec))
      return make_error(ErrorCode::kNotFound, "input {} does not exist", in.string());
  }
  for (const fs::path& out : step.outputs) {
    std::error_code ec;
    if (out.has_parent_path()) fs::create_directories(out.parent_path(), ec);
    if (ec)
      return make_error(ErrorCode::kIo, "cannot create {}: {}", out.parent_path().string(),
                        ec.message());
  }
  // Until it completes, the step has no record: an interruption makes it run again.
  if (state_.steps.erase(step.id)) QMIX_TRY(save_state(state_, state_file_));
  NullProgress null_progress;
  StepContext context = options_.context;
  if (!context.progress) context.progress = &null_progress;
  const auto start = std::chrono::steady_clock::now();
  QMIX_TRY(step.run(context));
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return record(i, outcome.seconds);
}

RunReport Run::execute() {
  RunReport report;
  for (size_t i = 0; i < steps_.size(); ++i) {
    StepOutcome& outcome = report.steps.emplace_back();
    outcome.id = steps_[i].id;
    if (report.failure) continue;  // kNotReached
    auto reason = reason_to_run(i);
    if (!reason.ok()) {
      outcome.action = StepAction::kFailed;
      report.failure = reason.error().with_context(fmt::format("step {}", steps_[i].id));
      continue;
    }
    if (!reason->has_value()) {
      outcome.action = StepAction::kSkipped;
      outcome.reason = "up to date";
    } else if (options_.execution == Execution::kDryRun) {
      outcome.action = StepAction::kWouldRun;
      outcome.reason = **reason;
      pending_.insert(i);
    } else {
      outcome.reason = **reason;
      if (options_.observer)
        options_.observer->step_starting(steps_[i], i, steps_.size(), outcome.reason);
      const bool cancelled = options_.context.cancel && options_.context.cancel->cancelled();
      const Status s = cancelled ? Status(make_error(ErrorCode::kCancelled, "interrupted"))
                                 : run_step(i, outcome);
      outcome.action = s.ok() ? StepAction::kRan : StepAction::kFailed;
      if (!s.ok()) report.failure = s.error().with_context(fmt::format("step {}", steps_[i].id));
    }
    if (options_.observer) options_.observer->step_finished(steps_[i], outcome, i, steps_.size());
  }
  return report;
}

}  // namespace

Expected<RunReport> run_workflow(const std::vector<Step>& steps, const fs::path& state_file,
                                 const RunOptions& options) {
  QMIX_TRY_ASSIGN(auto producer, producers_of(steps));
  QMIX_TRY_ASSIGN(const size_t from, from_index(steps, options.from));
  QMIX_TRY_ASSIGN(WorkflowState state, load_state(state_file));
  Run run(steps, state_file, options, std::move(state), std::move(producer), from);
  return run.execute();
}

}  // namespace qmix::workflow
