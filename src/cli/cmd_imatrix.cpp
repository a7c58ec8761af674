// `qmix imatrix collect|convert|stats|compare|merge` (issue #10; docs/imatrix.md).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/calibration_args.h"
#include "cli/commands.h"
#include "cli/device.h"
#include "cli/interrupt.h"
#include "cli/progress_bar.h"
#include "core/atomic_file.h"
#include "core/mapped_file.h"
#include "engine/engine.h"
#include "gguf/gguf_model.h"
#include "imatrix/calibration.h"
#include "imatrix/collector.h"
#include "imatrix/compare.h"
#include "imatrix/imatrix_file.h"
#include "imatrix/merge.h"
#include "imatrix/render.h"
#include "imatrix/stats.h"
#include "tokenizer/tokenizer.h"

namespace qmix::cli {

namespace {

namespace fs = std::filesystem;

// ---- shared pieces ----

struct OutputArgs {
  std::string path;
  std::string format;  // "" → from the extension
};

Expected<ImatrixFormat> output_format(const OutputArgs& out) {
  if (out.format.empty()) return imatrix_format_for_path(out.path);
  return parse_imatrix_format(out.format);
}

// Refuses to write over an input (inputs are never modified).
Status check_not_an_input(const std::string& output, const std::vector<std::string>& inputs) {
  std::error_code ec;
  for (const auto& in : inputs)
    if (fs::equivalent(output, in, ec))
      return make_error(ErrorCode::kInvalidArgument, "output '{}' is the input '{}'", output, in);
  return ok_status();
}

Expected<Imatrix> read_input(const std::string& path, int64_t legacy_chunk_size) {
  auto r = read_imatrix(path, {.legacy_chunk_size = legacy_chunk_size});
  if (!r.ok() && r.error().message.find(path) == std::string::npos)
    return r.error().with_context(path);
  return r;
}

Status write_text(const std::string& text, const fs::path& path) {
  QMIX_TRY_ASSIGN(auto out, AtomicFile::create(path));
  QMIX_TRY(out.write(std::as_bytes(std::span(text.data(), text.size()))));
  return out.commit();
}

int finish(const Status& s) { return s.ok() ? 0 : report_error(s.error()); }

// ---- collect ----

struct CollectArgs {
  std::string model;
  std::string text;
  std::string tokens;
  CalibrationArgs input;
  OutputArgs out{"imatrix.gguf", ""};
  int64_t ctx = 512;
  int64_t chunks = -1;
  int64_t save_every = 0;
  int threads = 0;
  std::string device = "cpu";
  bool resume = false;
  bool process_output = false;
  bool chunk_stats = false;
};

// Text is tokenized as llama-imatrix does (BOS added where the model adds one, special-token
// text left as text); JSONL records are rendered with the chat template; a token file is used
// as given.
Expected<std::vector<int32_t>> calibration_tokens(const CollectArgs& a,
                                                  const Expected<Tokenizer>& tok,
                                                  const GgufModel& model, int64_t n_vocab) {
  if (!a.tokens.empty()) return read_token_file(a.tokens, n_vocab);
  if (!tok.ok()) return tok.error().with_context(a.model);
  return read_calibration_tokens(a.input, a.text, *tok, model.metadata(),
                                 {.add_special = true, .parse_special = false});
}

// The BOS that begins every chunk, when the model's tokenizer adds one (a model without
// tokenizer metadata, fed token ids, gets none).
std::optional<int32_t> chunk_bos(const Expected<Tokenizer>& tok) {
  if (!tok.ok() || !tok->adds_bos() || !tok->valid_token(tok->bos_id())) return std::nullopt;
  return tok->bos_id();
}

// Keeps per-chunk statistics only when asked: without them the file has exactly the tensors
// llama.cpp writes.
Imatrix for_output(Imatrix im, const CollectArgs& a) {
  if (!a.chunk_stats)
    for (auto& e : im.entries) {
      e.chunk_sum_sq.clear();
      e.chunk_counts.clear();
    }
  return im;
}

Status seed_from_previous(const CollectArgs& a, ImatrixCollector& collector,
                          CollectOptions& options) {
  if (!a.resume || !fs::exists(a.out.path)) return ok_status();
  QMIX_TRY_ASSIGN(const Imatrix previous, read_input(a.out.path, a.ctx));
  if (previous.chunk_size != 0 && previous.chunk_size != a.ctx)
    return make_error(ErrorCode::kInvalidArgument,
                      "{}: made with chunks of {} tokens, not --ctx {}: cannot resume", a.out.path,
                      previous.chunk_size, a.ctx);
  collector.seed(previous);
  options.skip_chunks = previous.chunk_count;
  // Resuming the same corpus does not list it twice.
  if (!previous.datasets.empty() && previous.datasets.back() == options.datasets.front())
    options.datasets.clear();
  return ok_status();
}

Status run_collect(const CollectArgs& a) {
  QMIX_TRY(check_not_an_input(a.out.path, {a.model, a.text, a.tokens}));
  QMIX_TRY_ASSIGN(const ImatrixFormat format, output_format(a.out));
  QMIX_TRY_ASSIGN(const GgufModel model, GgufModel::open(a.model));
  ThreadPool accumulate_pool(a.threads);
  ImatrixCollector collector(a.process_output ? OutputWeight::kCollect : OutputWeight::kSkip,
                             &accumulate_pool);
  QMIX_TRY_ASSIGN(BackendFactory backend, backend_for_device(a.device));
  QMIX_TRY_ASSIGN(auto engine, Engine::create(model, {.threads = a.threads,
                                                      .observer = &collector,
                                                      .backend = std::move(backend)}));
  const auto tokenizer = Tokenizer::from_gguf(model.metadata());
  QMIX_TRY_ASSIGN(const auto tokens, calibration_tokens(a, tokenizer, model, engine->n_vocab()));
  CollectOptions options;
  options.n_ctx = a.ctx;
  options.max_chunks = a.chunks;
  options.bos_token = chunk_bos(tokenizer);
  options.datasets = {a.tokens.empty() ? a.text : a.tokens};
  QMIX_TRY(seed_from_previous(a, collector, options));
  options.save_every = a.save_every;
  options.checkpoint = [&](const Imatrix& im) {
    return write_imatrix(for_output(im, a), a.out.path, format);
  };
  ProgressBar bar("imatrix");
  InterruptGuard interrupt;
  options.progress = &bar;
  options.cancel = &interrupt.token();
  QMIX_TRY_ASSIGN(const CollectResult result, collect_imatrix(*engine, collector, tokens, options));
  bar.finish();
  if (result.imatrix.chunk_count == 0)
    return make_error(ErrorCode::kCancelled, "interrupted before the first chunk: nothing saved");
  QMIX_TRY(write_imatrix(for_output(result.imatrix, a), a.out.path, format));
  if (result.cancelled)
    return make_error(ErrorCode::kCancelled,
                      "interrupted: saved {} complete chunks to {} (continue with --resume)",
                      result.imatrix.chunk_count, a.out.path);
  std::printf("%s: %lld chunks of %lld tokens (%lld new), %zu tensors, %.0f tokens/s\n",
              a.out.path.c_str(), static_cast<long long>(result.imatrix.chunk_count),
              static_cast<long long>(a.ctx), static_cast<long long>(result.chunks_run),
              result.imatrix.entries.size(), result.tokens_per_second);
  return ok_status();
}

void register_collect(CLI::App& parent, CommandTable& table) {
  auto args = std::make_shared<CollectArgs>();
  CLI::App* sub = parent.add_subcommand(
      "collect", "Importance matrix of a model over calibration text (llama-imatrix's method)");
  sub->add_option("model,-m,--model", args->model, "Model GGUF")->required();
  auto* text = sub->add_option("-f,--file", args->text, "Calibration text or JSONL");
  add_calibration_options(sub, args->input);
  auto* tokens = sub->add_option("--tokens", args->tokens,
                                 "Calibration token ids: JSON array or one id per line");
  text->excludes(tokens);
  sub->add_option("-o,--output", args->out.path, "Output file (default imatrix.gguf)");
  sub->add_option("--output-format", args->out.format, "gguf or dat (default: by extension)");
  sub->add_option("-c,--ctx", args->ctx, "Tokens per chunk (default 512)")
      ->check(CLI::Range(2, 1 << 20));
  sub->add_option("--chunks", args->chunks, "Stop after this many chunks (default: all)");
  sub->add_option("--save-every", args->save_every, "Save the output every N chunks")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("-t,--threads", args->threads, "Threads (default: all cores)");
  sub->add_option("--device", args->device, std::string(kDeviceHelp))->capture_default_str();
  sub->add_flag("--resume", args->resume, "Continue from the chunks already in the output file");
  sub->add_flag("--process-output", args->process_output, "Also collect output.weight");
  sub->add_flag("--chunk-stats", args->chunk_stats,
                "Store per-chunk totals (confidence intervals in compare)");
  table.add(sub, [args] {
    if (args->text.empty() && args->tokens.empty())
      return report_error(make_error(ErrorCode::kInvalidArgument, "collect needs -f or --tokens"));
    return finish(run_collect(*args));
  });
}

// ---- convert / merge ----

struct ConvertArgs {
  std::vector<std::string> inputs;
  OutputArgs out;
  int64_t chunk_size = 0;
};

Status run_convert(const ConvertArgs& a) {
  QMIX_TRY(check_not_an_input(a.out.path, a.inputs));
  QMIX_TRY_ASSIGN(const ImatrixFormat format, output_format(a.out));
  QMIX_TRY_ASSIGN(const Imatrix im, read_input(a.inputs.front(), a.chunk_size));
  return write_imatrix(im, a.out.path, format);
}

Status run_merge(const ConvertArgs& a) {
  QMIX_TRY(check_not_an_input(a.out.path, a.inputs));
  QMIX_TRY_ASSIGN(const ImatrixFormat format, output_format(a.out));
  std::vector<Imatrix> inputs;
  for (const auto& path : a.inputs) {
    QMIX_TRY_ASSIGN(auto im, read_input(path, a.chunk_size));
    inputs.push_back(std::move(im));
  }
  QMIX_TRY_ASSIGN(const Imatrix merged, merge_imatrices(inputs));
  QMIX_TRY(write_imatrix(merged, a.out.path, format));
  std::printf("%s: %zu files, %lld chunks, %zu tensors\n", a.out.path.c_str(), inputs.size(),
              static_cast<long long>(merged.chunk_count), merged.entries.size());
  return ok_status();
}

void add_legacy_chunk_option(CLI::App* sub, ConvertArgs& args) {
  sub->add_option("--chunk-size", args.chunk_size,
                  "Tokens per chunk assumed for legacy .dat inputs (default 512)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--output-format", args.out.format, "gguf or dat (default: by extension)");
}

void register_convert_and_merge(CLI::App& parent, CommandTable& table) {
  auto conv = std::make_shared<ConvertArgs>();
  conv->inputs.resize(1);
  CLI::App* c =
      parent.add_subcommand("convert", "Convert between the GGUF and legacy .dat formats");
  c->add_option("input", conv->inputs[0], "Input imatrix")->required();
  c->add_option("output", conv->out.path, "Output imatrix")->required();
  add_legacy_chunk_option(c, *conv);
  table.add(c, [conv] { return finish(run_convert(*conv)); });

  auto merge = std::make_shared<ConvertArgs>();
  CLI::App* m =
      parent.add_subcommand("merge", "Merge imatrix files of one model (weighted by counts)");
  m->add_option("inputs", merge->inputs, "Input imatrix files")->required()->expected(1, -1);
  m->add_option("-o,--output", merge->out.path, "Output imatrix")->required();
  add_legacy_chunk_option(m, *merge);
  table.add(m, [merge] { return finish(run_merge(*merge)); });
}

// ---- stats / compare ----

struct AnalyseArgs {
  std::vector<std::string> inputs;
  int zones = 8;
  int top = 12;
  bool json = false;
  int64_t chunk_size = 0;
  CompareOptions compare;
  std::string emit_recipe;
  RecipePatchOptions patch;
};

Status run_stats(const AnalyseArgs& a) {
  QMIX_TRY_ASSIGN(const Imatrix im, read_input(a.inputs[0], a.chunk_size));
  const ImatrixStats stats = compute_stats(im, {.zone_size = a.zones, .top = a.top});
  const std::string out = a.json ? stats_json(stats, im).dump(1) + "\n" : stats_text(stats, im);
  std::fputs(out.c_str(), stdout);
  return ok_status();
}

Status run_compare(AnalyseArgs a) {
  if (!a.emit_recipe.empty()) QMIX_TRY(check_not_an_input(a.emit_recipe, a.inputs));
  QMIX_TRY_ASSIGN(const Imatrix domain, read_input(a.inputs[0], a.chunk_size));
  QMIX_TRY_ASSIGN(const Imatrix generic, read_input(a.inputs[1], a.chunk_size));
  a.compare.zone_size = a.zones;
  QMIX_TRY_ASSIGN(const ImatrixComparison c, compare_imatrices(domain, generic, a.compare));
  if (!a.emit_recipe.empty()) {
    a.patch.domain_name = fs::path(a.inputs[0]).filename().string();
    a.patch.generic_name = fs::path(a.inputs[1]).filename().string();
    QMIX_TRY(write_text(recipe_patch_toml(c, a.patch), a.emit_recipe));
  }
  const CompareRender render{a.top, a.compare.demote_below, a.compare.promote_above};
  const std::string out =
      a.json ? comparison_json(c, render).dump(1) + "\n" : comparison_text(c, render);
  std::fputs(out.c_str(), stdout);
  return ok_status();
}

void add_analysis_options(CLI::App* sub, AnalyseArgs& args) {
  sub->add_option("--zones", args.zones, "Blocks per zone (default 8)")->check(CLI::PositiveNumber);
  sub->add_option("--top", args.top, "Length of the top list (default 12)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--json", args.json, "Machine-readable output");
  sub->add_option("--chunk-size", args.chunk_size,
                  "Tokens per chunk assumed for legacy .dat inputs (default 512)")
      ->check(CLI::PositiveNumber);
}

void register_analysis(CLI::App& parent, CommandTable& table) {
  auto st = std::make_shared<AnalyseArgs>();
  st->inputs.resize(1);
  CLI::App* s = parent.add_subcommand("stats", "Per-tensor importance statistics");
  s->add_option("file", st->inputs[0], "Imatrix file")->required();
  add_analysis_options(s, *st);
  table.add(s, [st] { return finish(run_stats(*st)); });

  auto cmp = std::make_shared<AnalyseArgs>();
  cmp->inputs.resize(2);
  CLI::App* c =
      parent.add_subcommand("compare", "Tensor importance on a domain vs a generic corpus");
  c->add_option("domain", cmp->inputs[0], "Imatrix of the domain corpus")->required();
  c->add_option("generic", cmp->inputs[1], "Imatrix of the generic corpus")->required();
  add_analysis_options(c, *cmp);
  c->add_option("--demote-below", cmp->compare.demote_below, "Ratio under which to demote (0.80)");
  c->add_option("--promote-above", cmp->compare.promote_above,
                "Ratio over which to promote (1.10)");
  c->add_option("--bootstrap", cmp->compare.bootstrap, "Bootstrap resamples (default 1000)")
      ->check(CLI::NonNegativeNumber);
  c->add_option("--emit-recipe", cmp->emit_recipe, "Write demote/promote rules as a recipe TOML");
  c->add_option("--demote-type", cmp->patch.demote_type, "Type of demoted tensors (Q3_K)");
  c->add_option("--promote-type", cmp->patch.promote_type, "Type of promoted tensors (Q6_K)");
  c->add_flag("--include-uncertain", cmp->patch.include_uncertain,
              "Also emit rules whose interval crosses the threshold");
  table.add(c, [cmp] { return finish(run_compare(*cmp)); });
}

}  // namespace

void register_imatrix(CLI::App& app, CommandTable& table) {
  CLI::App* sub = app.add_subcommand("imatrix", "Importance matrices: collect, convert, analyse");
  sub->require_subcommand(1);
  register_collect(*sub, table);
  register_convert_and_merge(*sub, table);
  register_analysis(*sub, table);
}

}  // namespace qmix::cli
