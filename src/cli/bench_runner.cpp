#include "cli/bench_runner.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

extern char** environ;

namespace qmix::cli {

Spread spread(std::vector<double> v) {
  Spread s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s.min = v.front();
  s.max = v.back();
  return s;
}

namespace {
double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + 1e-6 * static_cast<double>(tv.tv_usec);
}
}  // namespace

Expected<RunSample> run_once(const std::vector<std::string>& argv) {
  if (argv.empty()) return make_error(ErrorCode::kInvalidArgument, "empty command");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const auto start = std::chrono::steady_clock::now();
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    return make_error(ErrorCode::kNotFound, "cannot run '{}': {}", argv[0], std::strerror(rc));
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) < 0)
    return make_error(ErrorCode::kIo, "waiting for '{}': {}", argv[0], std::strerror(errno));
  RunSample s;
  s.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  s.user_seconds = seconds(usage.ru_utime);
  s.sys_seconds = seconds(usage.ru_stime);
  s.peak_rss_bytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
  s.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return s;
}

Expected<BenchResult> run_bench(const BenchPlan& plan) {
  BenchResult r;
  auto one = [](const std::vector<std::string>& argv) -> Expected<RunSample> {
    QMIX_TRY_ASSIGN(RunSample s, run_once(argv));
    if (s.exit_code != 0)
      return make_error(ErrorCode::kInvalidArgument, "'{}' exited with status {}", argv[0],
                        s.exit_code);
    return s;
  };
  for (int i = 0; i < plan.warmup + plan.runs; ++i) {
    QMIX_TRY_ASSIGN(RunSample a, one(plan.command));
    if (i >= plan.warmup) r.command.push_back(a);
    if (plan.baseline.empty()) continue;
    QMIX_TRY_ASSIGN(RunSample b, one(plan.baseline));
    if (i < plan.warmup) continue;
    r.baseline.push_back(b);
    r.ratios.push_back(a.wall_seconds / std::max(b.wall_seconds, 1e-9));
  }
  return r;
}

Expected<std::vector<std::string>> split_command(const std::string& text) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < text.size()) {
        cur += text[++i];
      } else {
        cur += c;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < text.size()) {
      cur += text[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(cur);
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (quote) return make_error(ErrorCode::kInvalidArgument, "unterminated quote in '{}'", text);
  if (in_word) words.push_back(cur);
  if (words.empty()) return make_error(ErrorCode::kInvalidArgument, "empty command");
  return words;
}

}  // namespace qmix::cli
