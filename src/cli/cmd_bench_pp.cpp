// `qmix bench pp MODEL`: prompt-processing speed of the engine in this process, for each thread
// count, on the default path (dequantized panels + f32 GEMM) and on the ggml-like path
// (activations quantized to the dot partner, per-row dot kernels) as the in-run baseline.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/bench_runner.h"
#include "cli/commands.h"
#include "cli/table.h"
#include "core/byte_size.h"
#include "engine/engine.h"

namespace qmix::cli {
namespace {

struct PpArgs {
  std::string model;
  int64_t ctx = 512;
  std::vector<int> threads{1, 2};
  int reps = 3;
  bool skip_dots = false, json = false;
};

struct PpRow {
  int threads = 0;
  std::string path;
  Spread seconds;
  double tokens_per_second = 0;
};

Expected<PpRow> measure(const GgufModel& model, const PpArgs& a, int threads, MatmulMode mode) {
  EngineOptions opt;
  opt.threads = threads;
  opt.mode = mode;
  QMIX_TRY_ASSIGN(std::unique_ptr<Engine> engine, Engine::create(model, opt));
  std::vector<int32_t> tokens(static_cast<size_t>(a.ctx));
  for (size_t i = 0; i < tokens.size(); ++i)
    tokens[i] = static_cast<int32_t>((i * 7919 + 13) % static_cast<size_t>(engine->n_vocab()));
  std::vector<double> times;
  for (int r = 0; r <= a.reps; ++r) {  // the first run warms caches and page-ins
    const auto start = std::chrono::steady_clock::now();
    QMIX_TRY(engine->eval(tokens, a.ctx - 1));
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (r > 0) times.push_back(s);
  }
  PpRow row;
  row.threads = threads;
  row.path = mode == MatmulMode::kExactF32 ? "gemm" : "ggml-dots";
  row.seconds = spread(times);
  row.tokens_per_second = static_cast<double>(a.ctx) / row.seconds.median;
  return row;
}

Expected<std::vector<PpRow>> measure_all(const PpArgs& a) {
  QMIX_TRY_ASSIGN(GgufModel model, GgufModel::open(a.model));
  std::vector<PpRow> rows;
  for (int t : a.threads) {
    QMIX_TRY_ASSIGN(PpRow gemm, measure(model, a, t, MatmulMode::kExactF32));
    rows.push_back(gemm);
    if (a.skip_dots) continue;
    QMIX_TRY_ASSIGN(PpRow dots, measure(model, a, t, MatmulMode::kQuantizedActivations));
    rows.push_back(dots);
  }
  return rows;
}

uint64_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<uint64_t>(u.ru_maxrss) * 1024;
}

int run_pp(const PpArgs& a) {
  auto rows = measure_all(a);
  if (!rows.ok()) return report_error(rows.error());
  if (a.json) {
    nlohmann::json j = {{"schema", "qmix.bench.pp/1"},
                        {"model", a.model},
                        {"ctx", a.ctx},
                        {"peak_rss_bytes", peak_rss_bytes()},
                        {"rows", nlohmann::json::array()}};
    for (const PpRow& r : *rows)
      j["rows"].push_back({{"threads", r.threads},
                           {"path", r.path},
                           {"seconds_median", r.seconds.median},
                           {"seconds_min", r.seconds.min},
                           {"seconds_max", r.seconds.max},
                           {"tokens_per_second", r.tokens_per_second}});
    std::printf("%s\n", j.dump(1).c_str());
    return 0;
  }
  TextTable t({{"threads", Align::kRight},
               {"path"},
               {"tokens/s", Align::kRight},
               {"s median", Align::kRight},
               {"min", Align::kRight},
               {"max", Align::kRight}});
  for (const PpRow& r : *rows)
    t.add_row({std::to_string(r.threads), r.path, fmt::format("{:.1f}", r.tokens_per_second),
               fmt::format("{:.3f}", r.seconds.median), fmt::format("{:.3f}", r.seconds.min),
               fmt::format("{:.3f}", r.seconds.max)});
  std::printf("%s: %lld-token prompt, %d timed runs each\n%speak RSS %s\n", a.model.c_str(),
              static_cast<long long>(a.ctx), a.reps, t.render().c_str(),
              format_bytes(peak_rss_bytes()).c_str());
  return 0;
}

}  // namespace

void register_bench_pp(CLI::App& bench, CommandTable& table) {
  auto a = std::make_shared<PpArgs>();
  CLI::App* sub = bench.add_subcommand("pp", "Engine prompt-processing tokens/s (in process)");
  sub->add_option("model", a->model, "GGUF model")->required();
  sub->add_option("-c,--ctx", a->ctx, "prompt length")->capture_default_str();
  sub->add_option("-t,--threads", a->threads, "thread counts to measure")->capture_default_str();
  sub->add_option("--reps", a->reps, "timed runs per row")->capture_default_str();
  sub->add_flag("--skip-dots", a->skip_dots, "do not measure the ggml-like dot path");
  sub->add_flag("--json", a->json, "JSON output");
  table.add(sub, [a] { return run_pp(*a); });
}

}  // namespace qmix::cli
