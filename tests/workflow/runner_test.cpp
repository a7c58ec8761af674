// The step runner: what is skipped when nothing changed, what reruns after one input changes,
// and what a failing step leaves behind. Steps here are small functions over text files.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "testutil/testutil.h"
#include "workflow/file_hash.h"
#include "workflow/runner.h"
#include "workflow/state.h"

namespace qmix::workflow {
namespace {

namespace fs = std::filesystem;

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A diamond: `upper` and `count` read a.txt, `other` reads b.txt, `join` reads all three
// outputs. Each step records that it ran.
class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write_text(dir_ / "a.txt", "alpha");
    write_text(dir_ / "b.txt", "beta");
  }

  std::vector<Step> steps(const std::string& upper_params = "case=upper") {
    auto transform = [this](std::string id, fs::path in, fs::path out, auto fn) {
      return [this, id, in, out, fn](const StepContext&) -> Status {
        ++runs_[id];
        if (fail_ == id) return make_error(ErrorCode::kBadData, "{} is broken", in.string());
        write_text(out, fn(test::read_text(in)));
        return ok_status();
      };
    };
    const auto upper = [](std::string s) {
      for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return s;
    };
    const auto length = [](const std::string& s) { return std::to_string(s.size()); };
    const fs::path a = root_ / "a.txt", b = root_ / "b.txt", out = root_ / "out";
    std::vector<Step> s;
    s.push_back({"upper",
                 "upper-case a",
                 {a},
                 upper_params,
                 {out / "upper.txt"},
                 transform("upper", a, out / "upper.txt", upper)});
    s.push_back({"count",
                 "length of a",
                 {a},
                 "",
                 {out / "count.txt"},
                 transform("count", a, out / "count.txt", length)});
    s.push_back({"other",
                 "upper-case b",
                 {b},
                 "",
                 {out / "other.txt"},
                 transform("other", b, out / "other.txt", upper)});
    s.push_back({"join",
                 "join",
                 {out / "upper.txt", out / "count.txt", out / "other.txt"},
                 "",
                 {out / "joined.txt"},
                 [this, out](const StepContext&) -> Status {
                   ++runs_["join"];
                   write_text(out / "joined.txt", test::read_text(out / "upper.txt") +
                                                      test::read_text(out / "count.txt") +
                                                      test::read_text(out / "other.txt"));
                   return ok_status();
                 }});
    return s;
  }

  RunReport run(const std::vector<Step>& s, RunOptions options = {}) {
    auto r = run_workflow(s, state_file(), options);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : RunReport{};
  }

  static std::map<std::string, StepAction> actions(const RunReport& r) {
    std::map<std::string, StepAction> m;
    for (const StepOutcome& o : r.steps) m[o.id] = o.action;
    return m;
  }

  fs::path state_file() const { return root_ / "out" / "state.json"; }

  test::TempDir dir_;
  fs::path root_ = dir_.path();  // how the steps name the directory
  std::map<std::string, int> runs_;
  std::string fail_;
};

TEST_F(RunnerTest, FirstRunRunsEverythingThenNothingIsRedone) {
  const RunReport first = run(steps());
  for (const StepOutcome& o : first.steps) {
    EXPECT_EQ(o.action, StepAction::kRan) << o.id;
    EXPECT_EQ(o.reason, "not run before") << o.id;
  }
  EXPECT_EQ(test::read_text(dir_ / "out" / "joined.txt"), "ALPHA5BETA");
  const RunReport second = run(steps());
  for (const StepOutcome& o : second.steps) {
    EXPECT_EQ(o.action, StepAction::kSkipped) << o.id;
    EXPECT_EQ(o.reason, "up to date");
  }
  EXPECT_EQ(runs_["join"], 1);
  const auto state = load_state(state_file());
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->steps.size(), 4u);
  EXPECT_EQ(state->steps.at("upper").outputs.at("upper.txt").hash,  // relative to the state file
            *hash_file(dir_ / "out" / "upper.txt"));
}

TEST_F(RunnerTest, ChangedInputRerunsOnlyItsDependents) {
  run(steps());
  write_text(dir_ / "b.txt", "gamma");
  const auto a = actions(run(steps()));
  EXPECT_EQ(a.at("upper"), StepAction::kSkipped);
  EXPECT_EQ(a.at("count"), StepAction::kSkipped);
  EXPECT_EQ(a.at("other"), StepAction::kRan);
  EXPECT_EQ(a.at("join"), StepAction::kRan);
  EXPECT_EQ(test::read_text(dir_ / "out" / "joined.txt"), "ALPHA5GAMMA");
}

TEST_F(RunnerTest, RebuiltOutputWithTheSameContentStopsThePropagation) {
  run(steps());
  write_text(dir_ / "a.txt", "ALPHA");  // upper-cases to the same text, same length
  const RunReport r = run(steps());
  const auto a = actions(r);
  EXPECT_EQ(a.at("upper"), StepAction::kRan);
  EXPECT_EQ(a.at("count"), StepAction::kRan);
  EXPECT_EQ(a.at("other"), StepAction::kSkipped);
  EXPECT_EQ(a.at("join"), StepAction::kSkipped);  // its inputs' bytes did not change
  EXPECT_NE(r.steps[0].reason.find("a.txt changed"), std::string::npos) << r.steps[0].reason;
}

TEST_F(RunnerTest, ChangedParametersRerunTheStep) {
  run(steps());
  const RunReport r = run(steps("case=upper, v2"));
  EXPECT_EQ(r.steps[0].action, StepAction::kRan);
  EXPECT_EQ(r.steps[0].reason, "parameters changed");
  EXPECT_EQ(actions(r).at("count"), StepAction::kSkipped);
}

TEST_F(RunnerTest, DeletedOrEditedOutputIsRebuilt) {
  run(steps());
  fs::remove(dir_ / "out" / "count.txt");
  write_text(dir_ / "out" / "joined.txt", "edited by hand");
  const RunReport r = run(steps());
  const auto a = actions(r);
  EXPECT_EQ(a.at("count"), StepAction::kRan);
  EXPECT_NE(r.steps[1].reason.find("is missing"), std::string::npos) << r.steps[1].reason;
  EXPECT_EQ(a.at("join"), StepAction::kRan);
  EXPECT_EQ(test::read_text(dir_ / "out" / "joined.txt"), "ALPHA5BETA");
}

TEST_F(RunnerTest, FailingStepReportsAndKeepsEarlierWork) {
  run(steps());
  write_text(dir_ / "b.txt", "delta");
  fail_ = "other";
  const RunReport r = run(steps());
  ASSERT_TRUE(r.failure.has_value());
  EXPECT_EQ(r.failure->message, fmt::format("step other: {} is broken", (dir_ / "b.txt").string()));
  const auto a = actions(r);
  EXPECT_EQ(a.at("other"), StepAction::kFailed);
  EXPECT_EQ(a.at("join"), StepAction::kNotReached);
  EXPECT_EQ(test::read_text(dir_ / "out" / "other.txt"), "BETA");  // the old output is intact
  const auto state = load_state(state_file());
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->steps.count("upper"));
  EXPECT_FALSE(state->steps.count("other"));  // it must run again
  EXPECT_TRUE(state->steps.count("join"));    // recorded from the earlier run, still valid
  fail_.clear();
  const auto again = actions(run(steps()));
  EXPECT_EQ(again.at("upper"), StepAction::kSkipped);
  EXPECT_EQ(again.at("other"), StepAction::kRan);
  EXPECT_EQ(again.at("join"), StepAction::kRan);
  EXPECT_EQ(test::read_text(dir_ / "out" / "joined.txt"), "ALPHA5DELTA");
}

TEST_F(RunnerTest, DryRunDecidesWithoutRunning) {
  run(steps());
  write_text(dir_ / "a.txt", "omega!");
  RunOptions o;
  o.execution = Execution::kDryRun;
  const RunReport r = run(steps(), o);
  const auto a = actions(r);
  EXPECT_EQ(a.at("upper"), StepAction::kWouldRun);
  EXPECT_EQ(a.at("other"), StepAction::kSkipped);
  EXPECT_EQ(a.at("join"), StepAction::kWouldRun);
  EXPECT_NE(r.steps[3].reason.find("rebuilt by 'upper'"), std::string::npos) << r.steps[3].reason;
  EXPECT_EQ(runs_["upper"], 1);
  EXPECT_EQ(test::read_text(dir_ / "out" / "joined.txt"), "ALPHA5BETA");
}

TEST_F(RunnerTest, FromAndForce) {
  run(steps());
  RunOptions from;
  from.from = "other";
  auto a = actions(run(steps(), from));
  EXPECT_EQ(a.at("count"), StepAction::kSkipped);
  EXPECT_EQ(a.at("other"), StepAction::kRan);
  EXPECT_EQ(a.at("join"), StepAction::kRan);
  RunOptions force;
  force.mode = RunMode::kForceAll;
  a = actions(run(steps(), force));
  for (const auto& [id, action] : a) EXPECT_EQ(action, StepAction::kRan) << id;
  from.from = "nope";
  const auto bad = run_workflow(steps(), state_file(), from);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("no workflow step 'nope'"), std::string::npos);
}

TEST_F(RunnerTest, RejectsStepsOutOfOrder) {
  auto s = steps();
  std::swap(s[0], s[3]);  // join before the steps that write its inputs
  const auto r = run_workflow(s, state_file(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("step 'join' reads"), std::string::npos) << r.error().message;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(RunnerTest, CorruptStateFileIsAnError) {
  fs::create_directories(dir_ / "out");
  write_text(state_file(), "{\"schema\": 3");
  const auto r = run_workflow(steps(), state_file(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not valid JSON"), std::string::npos);
}

TEST_F(RunnerTest, StartingElsewhereChangesNothing) {
  run(steps());
  const fs::path cwd = fs::current_path();
  fs::current_path(dir_.path());
  root_ = ".";  // the same files, named relative to another working directory
  const RunReport r = run(steps());
  fs::current_path(cwd);
  for (const StepOutcome& o : r.steps) EXPECT_EQ(o.action, StepAction::kSkipped) << o.id;
}

TEST(FileHash, KnownXxh3Values) {
  // XXH3-64 test vectors (seed 0): the empty input and "a" (xxHash's reference values).
  EXPECT_EQ(hash_text(""), "2d06800538d394c2");
  EXPECT_EQ(hash_text("a"), "e6c632b61e964e1f");
  test::TempDir dir;
  write_text(dir / "empty", "");
  EXPECT_EQ(*hash_file(dir / "empty"), hash_text(""));
  write_text(dir / "a", "a");
  EXPECT_EQ(*hash_file(dir / "a"), hash_text("a"));
  EXPECT_FALSE(hash_file(dir / "missing").ok());
}

}  // namespace
}  // namespace qmix::workflow
