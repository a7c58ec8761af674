// `qmix bench pp MODEL [MODEL…]`: prompt-processing speed of the engine in this process, for
// each thread count and matmul path (--matmul: the f32 GEMM over dequantized panels, the bf16
// GEMM, the ggml-like per-row dots), every (path, model) interleaved run by run, with each
// run's time (wall and process CPU) over the first path's and the first model's in the same
// round: e.g. bf16 against f32, or a hybrid against a dense model.
// With --device cuda: the CUDA backend instead, with the fraction of the GPU's measured bf16
// GEMM rate and copy bandwidth that each model's prompt pass reaches.
#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/bench_runner.h"
#include "cli/commands.h"
#include "cli/device.h"
#include "cli/table.h"
#include "core/byte_size.h"
#include "engine/engine.h"

namespace qmix::cli {
namespace {

namespace fs = std::filesystem;

struct PpArgs {
  std::vector<std::string> models;
  std::string device = "cpu";
  int64_t ctx = 512;
  std::vector<int> threads{1, 2};
  int reps = 3;
  // Matmul paths (--matmul names), interleaved; ratios are to the first.
  std::vector<std::string> paths{"f32", "bf16", "ggml-dots"};
  bool skip_dots = false, json = false;
};

struct PpRow {
  size_t model = 0;  // index into PpArgs::models
  int threads = 0;
  std::string path;
  Spread seconds, cpu_seconds;
  double tokens_per_second = 0;
  // Per repetition, this model's time over the first model's (same threads, path and round);
  // empty for the first model.
  Spread time_over_first, cpu_over_first;
  // The same against the first path (same model and round); set where has_path_ratio.
  Spread time_over_first_path, cpu_over_first_path;
  bool has_path_ratio = false;
};

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Timed {
  double wall = 0, cpu = 0;
};

Expected<Timed> time_eval(Engine& engine, std::span<const int32_t> tokens) {
  const auto start = std::chrono::steady_clock::now();
  const double cpu = process_cpu_seconds();
  QMIX_TRY(engine.eval(tokens, static_cast<int64_t>(tokens.size()) - 1));
  return Timed{std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
               process_cpu_seconds() - cpu};
}

std::vector<int32_t> prompt(int64_t ctx, int64_t n_vocab) {
  std::vector<int32_t> tokens(static_cast<size_t>(ctx));
  for (size_t i = 0; i < tokens.size(); ++i)
    tokens[i] = static_cast<int32_t>((i * 7919 + 13) % static_cast<size_t>(n_vocab));
  return tokens;
}

// One engine per (path, model) at one thread count, interleaved run by run (after one warm-up
// run each, which also pages the weights in), so that changing machine load hits all alike.
// Ratios pair runs of the same round: each model over the first model on the same path, and
// each path over the first path on the same model.
Expected<std::vector<PpRow>> measure(const std::vector<GgufModel>& models, const PpArgs& a,
                                     int threads, const std::vector<MatmulMode>& modes) {
  const size_t n_models = models.size(), n_runs = n_models * modes.size();
  std::vector<std::unique_ptr<Engine>> engines;
  std::vector<std::vector<int32_t>> prompts;
  for (MatmulMode mode : modes)
    for (const GgufModel& m : models) {
      EngineOptions options{.threads = threads, .mode = mode};
      QMIX_TRY_ASSIGN(options.backend, backend_for_device(a.device));
      QMIX_TRY_ASSIGN(auto engine, Engine::create(m, options));
      prompts.push_back(prompt(a.ctx, engine->n_vocab()));
      QMIX_TRY(time_eval(*engine, prompts.back()));
      engines.push_back(std::move(engine));
    }
  std::vector<std::vector<double>> wall(n_runs), cpu(n_runs), wall_model(n_runs), cpu_model(n_runs),
      wall_path(n_runs), cpu_path(n_runs);
  for (int r = 0; r < a.reps; ++r)
    for (size_t i = 0; i < n_runs; ++i) {
      QMIX_TRY_ASSIGN(const Timed t, time_eval(*engines[i], prompts[i]));
      wall[i].push_back(t.wall);
      cpu[i].push_back(t.cpu);
      const size_t first_model = i - i % n_models, first_path = i % n_models;
      if (i != first_model) {
        wall_model[i].push_back(t.wall / wall[first_model].back());
        cpu_model[i].push_back(t.cpu / cpu[first_model].back());
      }
      if (i != first_path) {
        wall_path[i].push_back(t.wall / wall[first_path].back());
        cpu_path[i].push_back(t.cpu / cpu[first_path].back());
      }
    }
  std::vector<PpRow> rows;
  for (size_t i = 0; i < n_runs; ++i) {
    PpRow row;
    row.model = i % n_models;
    row.threads = threads;
    row.path = a.device != "cpu" ? a.device : std::string(matmul_mode_name(modes[i / n_models]));
    row.seconds = spread(wall[i]);
    row.cpu_seconds = spread(cpu[i]);
    row.tokens_per_second = static_cast<double>(a.ctx) / row.seconds.median;
    row.time_over_first = spread(wall_model[i]);
    row.cpu_over_first = spread(cpu_model[i]);
    row.time_over_first_path = spread(wall_path[i]);
    row.cpu_over_first_path = spread(cpu_path[i]);
    row.has_path_ratio = i >= n_models;
    rows.push_back(row);
  }
  return rows;
}

// What a prompt pass must do at least: the block weights' GEMM work and bytes (the output
// matrix runs for one token only in this benchmark).
struct PassWork {
  double gemm_flops = 0, weight_bytes = 0;
};

PassWork pass_work(const GgufModel& model, int64_t ctx) {
  PassWork w;
  for (const GgufTensorRef& t : model.tensors()) {
    if (!t.info->name.starts_with("blk.") || t.info->shape.size() < 2) continue;
    w.gemm_flops += 2.0 * static_cast<double>(ctx) * static_cast<double>(t.info->n_elements);
    w.weight_bytes += static_cast<double>(t.info->n_bytes);
  }
  return w;
}

// A device's measured ceilings and each model's work (--device other than cpu).
struct DeviceReport {
  DeviceCeilings ceilings;
  std::vector<PassWork> work;  // per model
};

Expected<std::vector<PpRow>> measure_all(const PpArgs& a, std::optional<DeviceReport>& device) {
  std::vector<GgufModel> models;
  for (const auto& path : a.models) {
    QMIX_TRY_ASSIGN(GgufModel m, GgufModel::open(path));
    models.push_back(std::move(m));
  }
  if (a.device != "cpu") {  // one row per model: threads and the dot path are CPU matters
    QMIX_TRY_ASSIGN(auto rows, measure(models, a, 1, {MatmulMode::kExactF32}));
    QMIX_TRY_ASSIGN(const DeviceCeilings ceilings, measure_device_ceilings(a.device));
    device = DeviceReport{ceilings, {}};
    for (const GgufModel& m : models) device->work.push_back(pass_work(m, a.ctx));
    return rows;
  }
  std::vector<MatmulMode> modes;
  for (const std::string& name : a.paths) {
    QMIX_TRY_ASSIGN(const MatmulMode mode, matmul_mode_by_name(name));
    if (mode != MatmulMode::kQuantizedActivations || !a.skip_dots) modes.push_back(mode);
  }
  if (modes.empty())
    return make_error(ErrorCode::kInvalidArgument, "bench pp: no matmul path left to measure");
  std::vector<PpRow> rows;
  for (int t : a.threads) {
    QMIX_TRY_ASSIGN(auto r, measure(models, a, t, modes));
    rows.insert(rows.end(), r.begin(), r.end());
  }
  return rows;
}

uint64_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<uint64_t>(u.ru_maxrss) * 1024;
}

nlohmann::json spread_json(const Spread& s) {
  return {{"median", s.median}, {"min", s.min}, {"max", s.max}};
}

// Achieved rates of a row's median pass against the measured ceilings.
nlohmann::json device_json(const DeviceReport& d, const PpRow& row) {
  const PassWork& w = d.work[row.model];
  const double tflops = w.gemm_flops / row.seconds.median / 1e12;
  const double gbps = w.weight_bytes / row.seconds.median / 1e9;
  return {{"name", d.ceilings.name},
          {"peak_bf16_tflops", d.ceilings.bf16_tflops},
          {"peak_copy_gb_per_s", d.ceilings.copy_gb_per_s},
          {"gemm_tflops", tflops},
          {"gemm_fraction", tflops / d.ceilings.bf16_tflops},
          {"weight_read_gb_per_s", gbps},
          {"bandwidth_fraction", gbps / d.ceilings.copy_gb_per_s}};
}

nlohmann::json rows_json(const PpArgs& a, const std::vector<PpRow>& rows,
                         const std::optional<DeviceReport>& device) {
  nlohmann::json j = {{"schema", "qmix.bench.pp/1"},
                      {"model", a.models.front()},
                      {"models", a.models},
                      {"ctx", a.ctx},
                      {"reps", a.reps},
                      {"peak_rss_bytes", peak_rss_bytes()},
                      {"rows", nlohmann::json::array()}};
  for (const PpRow& r : rows) {
    nlohmann::json row = {{"model", a.models[r.model]},
                          {"threads", r.threads},
                          {"path", r.path},
                          {"seconds_median", r.seconds.median},
                          {"seconds_min", r.seconds.min},
                          {"seconds_max", r.seconds.max},
                          {"cpu_seconds_median", r.cpu_seconds.median},
                          {"tokens_per_second", r.tokens_per_second}};
    if (r.model > 0) {
      row["time_over_first"] = spread_json(r.time_over_first);
      row["cpu_over_first"] = spread_json(r.cpu_over_first);
    }
    if (r.has_path_ratio) {
      row["time_over_first_path"] = spread_json(r.time_over_first_path);
      row["cpu_over_first_path"] = spread_json(r.cpu_over_first_path);
    }
    if (device) row["device"] = device_json(*device, r);
    j["rows"].push_back(row);
  }
  return j;
}

void print_device_lines(const PpArgs& a, const std::vector<PpRow>& rows, const DeviceReport& d) {
  for (const PpRow& r : rows) {
    const nlohmann::json j = device_json(d, r);
    std::printf(
        "%s on %s: block GEMMs %.1f TFLOP/s = %.1f%% of a measured bf16 GEMM (%.0f TFLOP/s); "
        "weights read at %.0f GB/s = %.1f%% of the measured copy bandwidth (%.0f GB/s)\n",
        fs::path(a.models[r.model]).filename().c_str(), d.ceilings.name.c_str(),
        j["gemm_tflops"].get<double>(), 100 * j["gemm_fraction"].get<double>(),
        d.ceilings.bf16_tflops, j["weight_read_gb_per_s"].get<double>(),
        100 * j["bandwidth_fraction"].get<double>(), d.ceilings.copy_gb_per_s);
  }
}

int run_pp(const PpArgs& a) {
  std::optional<DeviceReport> device;
  auto rows = measure_all(a, device);
  if (!rows.ok()) return report_error(rows.error());
  if (a.json) {
    std::printf("%s\n", rows_json(a, *rows, device).dump(1).c_str());
    return 0;
  }
  TextTable t({{"model"},
               {"threads", Align::kRight},
               {"path"},
               {"tokens/s", Align::kRight},
               {"s median", Align::kRight},
               {"min", Align::kRight},
               {"max", Align::kRight},
               {"CPU s", Align::kRight},
               {"time / first", Align::kRight},
               {"CPU / first", Align::kRight},
               {"time / path 1", Align::kRight},
               {"CPU / path 1", Align::kRight}});
  for (const PpRow& r : *rows) {
    const bool first = r.model == 0;
    t.add_row({fs::path(a.models[r.model]).filename().string(), std::to_string(r.threads), r.path,
               fmt::format("{:.1f}", r.tokens_per_second), fmt::format("{:.3f}", r.seconds.median),
               fmt::format("{:.3f}", r.seconds.min), fmt::format("{:.3f}", r.seconds.max),
               fmt::format("{:.3f}", r.cpu_seconds.median),
               first ? "-" : fmt::format("{:.3f}", r.time_over_first.median),
               first ? "-" : fmt::format("{:.3f}", r.cpu_over_first.median),
               r.has_path_ratio ? fmt::format("{:.3f}", r.time_over_first_path.median) : "-",
               r.has_path_ratio ? fmt::format("{:.3f}", r.cpu_over_first_path.median) : "-"});
  }
  std::printf("%lld-token prompt, %d timed runs each, models interleaved\n%speak RSS %s\n",
              static_cast<long long>(a.ctx), a.reps, t.render().c_str(),
              format_bytes(peak_rss_bytes()).c_str());
  if (device) print_device_lines(a, *rows, *device);
  return 0;
}

}  // namespace

void register_bench_pp(CLI::App& bench, CommandTable& table) {
  auto a = std::make_shared<PpArgs>();
  CLI::App* sub = bench.add_subcommand("pp", "Engine prompt-processing tokens/s (in process)");
  sub->add_option("models", a->models, "GGUF models, measured interleaved; ratios are to the first")
      ->required()
      ->expected(1, -1);
  sub->add_option("-c,--ctx", a->ctx, "prompt length")->capture_default_str();
  sub->add_option("-t,--threads", a->threads, "thread counts to measure")->capture_default_str();
  sub->add_option("--reps", a->reps, "timed runs per row")->capture_default_str();
  sub->add_option("--device", a->device, std::string(kDeviceHelp))->capture_default_str();
  sub->add_option("--matmul", a->paths,
                  "matmul paths to measure (auto, f32, bf16, ggml-dots); ratios are to the first")
      ->capture_default_str();
  sub->add_flag("--skip-dots", a->skip_dots, "do not measure the ggml-like dot path (ggml-dots)");
  sub->add_flag("--json", a->json, "JSON output");
  table.add(sub, [a] { return run_pp(*a); });
}

}  // namespace qmix::cli
