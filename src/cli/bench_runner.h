// Whole-command timing for `qmix bench`: runs a command (and optionally a baseline) several
// times, alternating A B A B so drifting machine speed hits both alike, and reports median /
// min / max wall time, peak RSS from the kernel's accounting (wait4), and the pairwise ratio.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

namespace qmix::cli {

struct RunSample {
  double wall_seconds = 0, user_seconds = 0, sys_seconds = 0;
  uint64_t peak_rss_bytes = 0;
  int exit_code = 0;
};

struct Spread {
  double median = 0, min = 0, max = 0;
};
Spread spread(std::vector<double> values);

// Runs argv once (no shell), its output sent to /dev/null.
Expected<RunSample> run_once(const std::vector<std::string>& argv);

struct BenchPlan {
  std::vector<std::string> command, baseline;  // baseline may be empty
  int warmup = 1, runs = 5;
};

struct BenchResult {
  std::vector<RunSample> command, baseline;
  std::vector<double> ratios;  // command / baseline wall time, pair by pair
};

// Fails if any run exits non-zero (a benchmark of a failing command means nothing).
Expected<BenchResult> run_bench(const BenchPlan& plan);

// Splits a command written as one string the way a shell splits words (quotes, backslashes).
Expected<std::vector<std::string>> split_command(const std::string& text);

}  // namespace qmix::cli
