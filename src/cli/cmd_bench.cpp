// `qmix bench`: throughput of whole jobs with a baseline measured in the same run.
//   qmix bench cmd [--baseline 'CMD'] [--input FILE] [--tokens N] -- CMD ARGS…   any command
//   qmix bench quantize IN.gguf TYPE [--imatrix F] [--baseline 'CMD']            MiB/s of input
//   qmix bench perplexity MODEL -f TEXT --chunks N [--ctx 512] [--baseline 'CMD'] tokens/s
//   qmix bench pp MODEL [--ctx 512] [--threads 1 2]          engine prompt processing, in process
//   qmix bench imatrix MODEL -f TEXT [--chunks 4]      imatrix observer overhead, in process
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/bench_runner.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "core/byte_size.h"
#include "engine/engine.h"

namespace qmix::cli {
namespace {

namespace fs = std::filesystem;

struct CmdArgs {
  std::vector<std::string> command;
  std::string baseline, input;
  uint64_t tokens = 0;
  int runs = 5, warmup = 1;
  bool json = false;
};

std::string self_path() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("qmix") : p.string();
}

nlohmann::json spread_json(const Spread& s) {
  return {{"median", s.median}, {"min", s.min}, {"max", s.max}};
}

nlohmann::json samples_json(const std::vector<RunSample>& runs, uint64_t input_bytes,
                            uint64_t tokens) {
  std::vector<double> wall, rss;
  for (const RunSample& r : runs) {
    wall.push_back(r.wall_seconds);
    rss.push_back(static_cast<double>(r.peak_rss_bytes));
  }
  const Spread w = spread(wall);
  nlohmann::json j = {{"wall_seconds", spread_json(w)}, {"peak_rss_bytes", spread(rss).max}};
  if (input_bytes) j["mib_per_second"] = static_cast<double>(input_bytes) / (1 << 20) / w.median;
  if (tokens) j["tokens_per_second"] = static_cast<double>(tokens) / w.median;
  return j;
}

void print_samples(const char* label, const nlohmann::json& j) {
  std::printf("%-9s wall %.3f s (min %.3f, max %.3f), peak RSS %s", label,
              j["wall_seconds"]["median"].get<double>(), j["wall_seconds"]["min"].get<double>(),
              j["wall_seconds"]["max"].get<double>(),
              format_bytes(static_cast<uint64_t>(j["peak_rss_bytes"].get<double>())).c_str());
  if (j.contains("mib_per_second")) std::printf(", %.1f MiB/s", j["mib_per_second"].get<double>());
  if (j.contains("tokens_per_second"))
    std::printf(", %.1f tokens/s", j["tokens_per_second"].get<double>());
  std::printf("\n");
}

int run_cmd_bench(const CmdArgs& a) {
  BenchPlan plan;
  plan.command = a.command;
  plan.runs = a.runs;
  plan.warmup = a.warmup;
  if (!a.baseline.empty()) {
    auto b = split_command(a.baseline);
    if (!b.ok()) return report_error(b.error().with_context("--baseline"));
    plan.baseline = *b;
  }
  uint64_t input_bytes = 0;
  if (!a.input.empty()) {
    std::error_code ec;
    input_bytes = fs::file_size(a.input, ec);
    if (ec) return report_error(make_error(ErrorCode::kNotFound, "{}: {}", a.input, ec.message()));
  }
  auto r = run_bench(plan);
  if (!r.ok()) return report_error(r.error());
  nlohmann::json j = {{"schema", "qmix.bench/1"},
                      {"command", a.command},
                      {"runs", a.runs},
                      {"result", samples_json(r->command, input_bytes, a.tokens)}};
  if (!plan.baseline.empty()) {
    j["baseline_command"] = plan.baseline;
    j["baseline"] = samples_json(r->baseline, input_bytes, a.tokens);
    j["time_ratio"] = spread_json(spread(r->ratios));  // < 1: the command is faster
  }
  if (a.json) {
    std::printf("%s\n", j.dump(1).c_str());
    return 0;
  }
  print_samples("command", j["result"]);
  if (j.contains("baseline")) {
    print_samples("baseline", j["baseline"]);
    std::printf("time ratio command/baseline: median %.3f (min %.3f, max %.3f) → %.2fx %s\n",
                j["time_ratio"]["median"].get<double>(), j["time_ratio"]["min"].get<double>(),
                j["time_ratio"]["max"].get<double>(), 1.0 / j["time_ratio"]["median"].get<double>(),
                "the baseline's speed");
  }
  return 0;
}

void add_common(CLI::App* sub, CmdArgs& a) {
  sub->add_option("--baseline", a.baseline,
                  "baseline command, run alternately in the same session");
  sub->add_option("--runs", a.runs, "counted runs")->capture_default_str();
  sub->add_option("--warmup", a.warmup, "uncounted runs first")->capture_default_str();
  sub->add_flag("--json", a.json, "JSON output");
}

void register_bench_cmd(CLI::App& bench, CommandTable& table) {
  auto a = std::make_shared<CmdArgs>();
  CLI::App* sub =
      bench.add_subcommand("cmd", "Time any command: qmix bench cmd [opts] -- CMD ARGS");
  sub->add_option("command", a->command, "the command and its arguments (after --)")->required();
  sub->add_option("--input", a->input, "input file whose size gives MiB/s");
  sub->add_option("--tokens", a->tokens, "tokens processed per run, for tokens/s");
  add_common(sub, *a);
  table.add(sub, [a] { return run_cmd_bench(*a); });
}

struct QuantizeBenchArgs {
  CmdArgs common;
  std::string input, type, imatrix;
  int threads = 0;
};

void register_bench_quantize(CLI::App& bench, CommandTable& table) {
  auto a = std::make_shared<QuantizeBenchArgs>();
  CLI::App* sub = bench.add_subcommand("quantize", "MiB/s of `qmix quantize IN OUT TYPE`");
  sub->add_option("input", a->input, "input GGUF")->required();
  sub->add_option("type", a->type, "preset")->required();
  sub->add_option("--imatrix", a->imatrix, "importance matrix");
  sub->add_option("-t,--threads", a->threads, "threads (0: all)");
  add_common(sub, a->common);
  table.add(sub, [a] {
    const fs::path out =
        fs::temp_directory_path() / ("qmix-bench-" + std::to_string(::getpid()) + ".gguf");
    CmdArgs c = a->common;
    c.command = {self_path(), "quantize"};
    if (!a->imatrix.empty()) c.command.insert(c.command.end(), {"--imatrix", a->imatrix});
    c.command.insert(c.command.end(), {a->input, out.string(), a->type});
    if (a->threads > 0) c.command.push_back(std::to_string(a->threads));
    c.input = a->input;
    const int rc = run_cmd_bench(c);
    std::error_code ec;
    fs::remove(out, ec);
    return rc;
  });
}

struct PerplexityBenchArgs {
  CmdArgs common;
  std::string model, text;
  int64_t ctx = 512, chunks = 4;
};

void register_bench_perplexity(CLI::App& bench, CommandTable& table) {
  auto a = std::make_shared<PerplexityBenchArgs>();
  CLI::App* sub = bench.add_subcommand("perplexity", "tokens/s of `qmix perplexity`");
  sub->add_option("model", a->model, "GGUF model")->required();
  sub->add_option("-f,--file", a->text, "text file")->required();
  sub->add_option("-c,--ctx", a->ctx, "tokens per chunk")->capture_default_str();
  sub->add_option("--chunks", a->chunks, "chunks per run")->capture_default_str();
  add_common(sub, a->common);
  table.add(sub, [a] {
    CmdArgs c = a->common;
    c.command = {self_path(),
                 "perplexity",
                 a->model,
                 "-f",
                 a->text,
                 "--ctx",
                 std::to_string(a->ctx),
                 "--chunks",
                 std::to_string(a->chunks)};
    c.tokens = static_cast<uint64_t>(a->ctx * a->chunks);
    return run_cmd_bench(c);
  });
}

}  // namespace

void register_bench_pp(CLI::App& bench, CommandTable& table);
void register_bench_imatrix(CLI::App& bench, CommandTable& table);

void register_bench(CLI::App& app, CommandTable& table) {
  CLI::App* bench =
      app.add_subcommand("bench", "Benchmarks with a baseline measured in the same run");
  bench->require_subcommand(1);
  register_bench_cmd(*bench, table);
  register_bench_quantize(*bench, table);
  register_bench_perplexity(*bench, table);
  register_bench_pp(*bench, table);
  register_bench_imatrix(*bench, table);
}

}  // namespace qmix::cli
