// `qmix bench imatrix MODEL -f TEXT`: the cost of the imatrix observer. In one process, on one
// engine (same weights, threads and matmul path), alternating within every repetition:
//   eval        the chunks as collection runs them (every position, logits of the last only),
//               no observer — the baseline the observer's overhead is measured against;
//   collect     collect_imatrix with an ImatrixCollector attached (what `qmix imatrix collect`
//               runs);
//   perplexity  `qmix perplexity`'s job on the same chunks (all logits + NLL).
// Reports median seconds, tokens/s and the per-repetition ratios collect/eval and
// collect/perplexity (medians), so drifting machine load hits both sides of a ratio alike. On a
// shared, oversubscribed machine wall time mostly measures the scheduler; the process CPU time
// of each job (all threads; the pools block rather than spin) measures the work, so both are
// given.
#include <time.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>

#include "cli/bench_runner.h"
#include "cli/calibration_args.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "eval/model_session.h"
#include "eval/perplexity.h"
#include "imatrix/collector.h"

namespace qmix::cli {
namespace {

struct ImatrixBenchArgs {
  std::string model, text;
  int64_t ctx = 512, chunks = 4;
  int threads = 2, reps = 3;
  bool json = false;
  CalibrationArgs input;
};

enum class Job { kEval, kCollect, kPerplexity };
constexpr std::array<Job, 3> kJobs = {Job::kEval, Job::kCollect, Job::kPerplexity};
constexpr std::array<const char*, 3> kJobNames = {"eval", "collect", "perplexity"};

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

class ImatrixBench {
 public:
  ImatrixBench(LoadedModel model, std::vector<int32_t> tokens, const ImatrixBenchArgs& a)
      : m_(std::move(model)), tokens_(std::move(tokens)), a_(a), accumulate_pool_(a.threads) {
    bos_ = chunk_bos(*m_.tokenizer, BosPolicy::kAuto);
  }

  struct Sample {
    double wall = 0, cpu = 0;
  };
  Expected<Sample> time(Job job) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = process_cpu_seconds();
    QMIX_TRY(run(job));
    return Sample{std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                  process_cpu_seconds() - cpu_start};
  }

 private:
  Status run(Job job) {
    switch (job) {
      case Job::kEval:
        return eval_chunks();
      case Job::kCollect:
        return collect();
      case Job::kPerplexity: {
        PerplexityOptions o;
        o.n_ctx = a_.ctx;
        o.max_chunks = a_.chunks;
        o.bos_token = bos_;
        QMIX_TRY(perplexity(*m_.engine, tokens_, o));
        return ok_status();
      }
    }
    return ok_status();
  }

  // collect_imatrix's loop without the observer.
  Status eval_chunks() {
    std::vector<int32_t> chunk(static_cast<size_t>(a_.ctx));
    for (int64_t i = 0; i < a_.chunks; ++i) {
      const auto first = tokens_.begin() + i * a_.ctx;
      std::copy(first, first + a_.ctx, chunk.begin());
      if (bos_) chunk[0] = *bos_;
      QMIX_TRY(m_.engine->eval(chunk, a_.ctx - 1));
    }
    return ok_status();
  }

  Status collect() {
    ImatrixCollector collector(OutputWeight::kSkip, &accumulate_pool_);
    m_.engine->set_observer(&collector);
    CollectOptions o;
    o.n_ctx = a_.ctx;
    o.max_chunks = a_.chunks;
    o.bos_token = bos_;
    auto r = collect_imatrix(*m_.engine, collector, tokens_, o);
    m_.engine->set_observer(nullptr);
    return r.ok() ? ok_status() : Status(r.error());
  }

  LoadedModel m_;
  std::vector<int32_t> tokens_;
  const ImatrixBenchArgs& a_;
  ThreadPool accumulate_pool_;  // as `qmix imatrix collect` has it
  std::optional<int32_t> bos_;
};

struct Ratios {
  std::vector<double> collect_over_eval, collect_over_ppl;  // per repetition
  void add(const std::array<double, 3>& s) {
    collect_over_eval.push_back(s[1] / s[0]);
    collect_over_ppl.push_back(s[1] / s[2]);
  }
};

struct BenchTimes {
  std::array<std::vector<double>, 3> wall, cpu;  // per job, per repetition
  Ratios wall_ratios, cpu_ratios;
};

// One warm-up of each job, then `reps` rounds; the order rotates every round.
Expected<BenchTimes> measure(ImatrixBench& bench, int reps) {
  for (Job j : kJobs) QMIX_TRY(bench.time(j));
  BenchTimes t;
  for (int r = 0; r < reps; ++r) {
    std::array<double, 3> wall{}, cpu{};
    for (size_t k = 0; k < kJobs.size(); ++k) {
      const size_t j = (k + static_cast<size_t>(r)) % kJobs.size();
      QMIX_TRY_ASSIGN(const auto s, bench.time(kJobs[j]));
      wall[j] = s.wall;
      cpu[j] = s.cpu;
      t.wall[j].push_back(s.wall);
      t.cpu[j].push_back(s.cpu);
    }
    t.wall_ratios.add(wall);
    t.cpu_ratios.add(cpu);
  }
  return t;
}

nlohmann::json times_json(const ImatrixBenchArgs& a, const BenchTimes& t) {
  const double tokens = static_cast<double>(a.ctx * a.chunks);
  nlohmann::json j = {{"schema", "qmix.bench.imatrix/1"},
                      {"model", a.model},
                      {"text", a.text},
                      {"ctx", a.ctx},
                      {"chunks", a.chunks},
                      {"threads", a.threads},
                      {"reps", a.reps}};
  for (size_t k = 0; k < kJobs.size(); ++k) {
    const Spread s = spread(t.wall[k]), c = spread(t.cpu[k]);
    j["jobs"][kJobNames[k]] = {{"seconds_median", s.median},
                               {"seconds_min", s.min},
                               {"seconds_max", s.max},
                               {"tokens_per_second", tokens / s.median},
                               {"cpu_seconds_median", c.median}};
  }
  const auto spread_json = [](const std::vector<double>& v) {
    const Spread s = spread(v);
    return nlohmann::json{{"median", s.median}, {"min", s.min}, {"max", s.max}};
  };
  j["collect_over_eval"] = {{"wall", spread_json(t.wall_ratios.collect_over_eval)},
                            {"cpu", spread_json(t.cpu_ratios.collect_over_eval)}};
  j["collect_over_perplexity"] = {{"wall", spread_json(t.wall_ratios.collect_over_ppl)},
                                  {"cpu", spread_json(t.cpu_ratios.collect_over_ppl)}};
  return j;
}

void print_times(const nlohmann::json& j) {
  TextTable t({{"job"},
               {"tokens/s", Align::kRight},
               {"s median", Align::kRight},
               {"min", Align::kRight},
               {"max", Align::kRight},
               {"CPU s median", Align::kRight}});
  for (const char* name : kJobNames) {
    const auto& r = j["jobs"][name];
    t.add_row({name, fmt::format("{:.1f}", r["tokens_per_second"].get<double>()),
               fmt::format("{:.3f}", r["seconds_median"].get<double>()),
               fmt::format("{:.3f}", r["seconds_min"].get<double>()),
               fmt::format("{:.3f}", r["seconds_max"].get<double>()),
               fmt::format("{:.3f}", r["cpu_seconds_median"].get<double>())});
  }
  std::printf("%s: %lld chunks of %lld tokens, %d threads, %d rounds\n%s",
              j["model"].get<std::string>().c_str(), j["chunks"].get<long long>(),
              j["ctx"].get<long long>(), j["threads"].get<int>(), j["reps"].get<int>(),
              t.render().c_str());
  for (const char* key : {"collect_over_eval", "collect_over_perplexity"})
    for (const char* clock : {"wall", "cpu"}) {
      const auto& r = j[key][clock];
      std::printf("%s (%s): median %.4f (min %.4f, max %.4f)\n", key, clock,
                  r["median"].get<double>(), r["min"].get<double>(), r["max"].get<double>());
    }
}

Status run_imatrix_bench(const ImatrixBenchArgs& a) {
  QMIX_TRY_ASSIGN(LoadedModel m, load_model(a.model, {.threads = a.threads}));
  // Tokenized as `qmix imatrix collect` does.
  auto tokens = read_calibration_tokens(a.input, a.text, *m.tokenizer, m.file->metadata(),
                                        {.add_special = true, .parse_special = false});
  QMIX_TRY(tokens);
  if (static_cast<int64_t>(tokens->size()) < a.ctx * a.chunks)
    return make_error(ErrorCode::kInvalidArgument, "{}: {} tokens, fewer than {} chunks of {}",
                      a.text, tokens->size(), a.chunks, a.ctx);
  ImatrixBench bench(std::move(m), std::move(tokens).value(), a);
  QMIX_TRY_ASSIGN(const BenchTimes t, measure(bench, a.reps));
  const nlohmann::json j = times_json(a, t);
  if (a.json)
    std::printf("%s\n", j.dump(1).c_str());
  else
    print_times(j);
  return ok_status();
}

}  // namespace

void register_bench_imatrix(CLI::App& bench, CommandTable& table) {
  auto a = std::make_shared<ImatrixBenchArgs>();
  CLI::App* sub = bench.add_subcommand(
      "imatrix", "imatrix observer overhead: collect vs plain eval vs perplexity, in process");
  sub->add_option("model", a->model, "GGUF model")->required();
  sub->add_option("-f,--file", a->text, "calibration text (or JSONL with --format jsonl)")
      ->required();
  add_calibration_options(sub, a->input);
  sub->add_option("-c,--ctx", a->ctx, "tokens per chunk")
      ->capture_default_str()
      ->check(CLI::Range(2, 1 << 20));
  sub->add_option("--chunks", a->chunks, "chunks per job")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_option("-t,--threads", a->threads, "threads")->capture_default_str();
  sub->add_option("--reps", a->reps, "timed rounds (after one warm-up round)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_flag("--json", a->json, "JSON output");
  table.add(sub, [a] {
    const Status s = run_imatrix_bench(*a);
    return s.ok() ? 0 : report_error(s.error());
  });
}

}  // namespace qmix::cli
