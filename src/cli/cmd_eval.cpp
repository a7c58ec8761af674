// `qmix perplexity` (PPL, saving base logits, KLD against them) and `qmix eval-logits`
// (full logits of a token list). `qmix compare` lives in cmd_compare.cpp.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/calibration_args.h"
#include "cli/commands.h"
#include "cli/device.h"
#include "cli/eval_output.h"
#include "core/atomic_file.h"
#include "eval/evaluate.h"
#include "eval/model_session.h"

namespace qmix::cli {
void register_compare(CLI::App& app, CommandTable& table);

namespace {

struct PerplexityArgs {
  std::string model, text, bos = "auto", save_logits, kld, device = "cpu", matmul = "auto";
  int64_t ctx = 512, chunks = -1;
  int threads = 0, top_k = 64;
  bool json = false, ggml_dots = false;
  CalibrationArgs input;
};

int run_perplexity(const PerplexityArgs& a) {
  EngineOptions eo;
  eo.threads = a.threads;
  auto mode = matmul_mode_by_name(a.ggml_dots ? "ggml-dots" : a.matmul);
  if (!mode.ok()) return report_error(mode.error());
  eo.mode = *mode;
  auto backend = backend_for_device(a.device);
  if (!backend.ok()) return report_error(backend.error());
  eo.backend = std::move(backend).value();
  auto m = load_model(a.model, eo);
  if (!m.ok()) return report_error(m.error());
  auto bos = parse_bos_policy(a.bos);
  if (!bos.ok()) return report_error(bos.error());
  auto tokens = read_calibration_tokens(a.input, a.text, *m->tokenizer, m->file->metadata(),
                                        {.add_special = false, .parse_special = false});
  if (!tokens.ok()) return report_error(tokens.error());
  EvalOptions opt;
  opt.n_ctx = a.ctx;
  opt.max_chunks = a.chunks;
  opt.bos_token = chunk_bos(*m->tokenizer, *bos);
  opt.save_logits = a.save_logits;
  opt.kld_base = a.kld;
  opt.top_k = a.top_k;
  TerminalEval term(a.json);
  opt.progress = term.progress();
  opt.cancel = term.cancel();
  opt.on_chunk = [&](int64_t chunk, double ppl) { term.chunk_line(chunk, ppl); };
  auto out = evaluate(*m->engine, *tokens, opt);
  if (!out.ok()) return report_error(out.error());
  if (a.json) {
    nlohmann::json j = eval_json(*out);
    j["model"] = a.model;
    j["text"] = a.text;
    j["n_ctx"] = a.ctx;
    j["bpw"] = m->bits_per_weight();
    std::printf("%s\n", j.dump(1).c_str());
  } else {
    print_eval_text(*out);
  }
  return 0;
}

void register_perplexity(CLI::App& app, CommandTable& table) {
  auto a = std::make_shared<PerplexityArgs>();
  CLI::App* sub = app.add_subcommand("perplexity", "Perplexity (llama-perplexity's method), KLD");
  sub->add_option("model", a->model, "GGUF model")->required();
  sub->add_option("-f,--file", a->text, "text file (or JSONL with --format jsonl)")->required();
  add_calibration_options(sub, a->input);
  sub->add_option("-c,--ctx", a->ctx, "tokens per chunk")->capture_default_str();
  sub->add_option("--chunks", a->chunks, "evaluate at most this many chunks (-1: all)");
  sub->add_option("--bos", a->bos, "replace each chunk's first token by BOS: auto|yes|no")
      ->capture_default_str();
  sub->add_option("-t,--threads", a->threads, "threads (0: all cores)");
  sub->add_option("--device", a->device, std::string(kDeviceHelp))->capture_default_str();
  sub->add_option("--save-logits", a->save_logits, "write the base distributions for --kld");
  sub->add_option("--kld", a->kld, "KL-divergence against a --save-logits file");
  sub->add_option("--top-k", a->top_k, "distribution entries kept per token in --save-logits")
      ->capture_default_str();
  sub->add_option("--matmul", a->matmul,
                  "matmul path: auto (bf16 GEMM for quantized weights where the CPU has "
                  "AVX-512 BF16, f32 for float weights), f32, bf16, ggml-dots")
      ->capture_default_str();
  sub->add_flag("--ggml-dots", a->ggml_dots,
                "quantize activations and use per-row dot kernels as ggml does (slower); "
                "same as --matmul ggml-dots");
  sub->add_flag("--json", a->json, "JSON output");
  table.add(sub, [a] { return run_perplexity(*a); });
}

struct EvalLogitsArgs {
  std::string model, tokens, out, device = "cpu";
  int threads = 0;
};

Expected<std::vector<int32_t>> parse_token_list(const std::string& list) {
  std::vector<int32_t> ids;
  size_t pos = 0;
  while (pos < list.size()) {
    size_t end = list.find_first_of(", ", pos);
    if (end == std::string::npos) end = list.size();
    if (end > pos) {
      try {
        ids.push_back(static_cast<int32_t>(std::stol(list.substr(pos, end - pos))));
      } catch (const std::exception&) {
        return make_error(ErrorCode::kInvalidArgument, "bad token id '{}'",
                          list.substr(pos, end - pos));
      }
    }
    pos = end + 1;
  }
  if (ids.empty()) return make_error(ErrorCode::kInvalidArgument, "no token ids given");
  return ids;
}

// Raw little-endian f32 logits [n_tokens][n_vocab], for tests against other engines.
int run_eval_logits(const EvalLogitsArgs& a) {
  auto ids = parse_token_list(a.tokens);
  if (!ids.ok()) return report_error(ids.error());
  EngineOptions eo;
  eo.threads = a.threads;
  auto backend = backend_for_device(a.device);
  if (!backend.ok()) return report_error(backend.error());
  eo.backend = std::move(backend).value();
  auto m = load_model(a.model, eo);
  if (!m.ok()) return report_error(m.error());
  auto logits = m->engine->eval(*ids, 0);
  if (!logits.ok()) return report_error(logits.error());
  auto file = AtomicFile::create(a.out);
  if (!file.ok()) return report_error(file.error());
  Status st = file->write(std::as_bytes(std::span(*logits)));
  if (st.ok()) st = file->commit();
  if (!st.ok()) return report_error(st.error());
  std::printf("%zu tokens x %lld logits -> %s\n", ids->size(),
              static_cast<long long>(m->engine->n_vocab()), a.out.c_str());
  return 0;
}

void register_eval_logits(CLI::App& app, CommandTable& table) {
  auto a = std::make_shared<EvalLogitsArgs>();
  CLI::App* sub = app.add_subcommand("eval-logits", "Dump the full f32 logits of a token list");
  sub->add_option("model", a->model, "GGUF model")->required();
  sub->add_option("--tokens", a->tokens, "comma-separated token ids")->required();
  sub->add_option("-o,--output", a->out, "output file (f32 [tokens][vocab])")->required();
  sub->add_option("-t,--threads", a->threads, "threads (0: all cores)");
  sub->add_option("--device", a->device, std::string(kDeviceHelp))->capture_default_str();
  table.add(sub, [a] { return run_eval_logits(*a); });
}

}  // namespace

void register_eval(CLI::App& app, CommandTable& table) {
  register_perplexity(app, table);
  register_eval_logits(app, table);
  register_compare(app, table);
}

}  // namespace qmix::cli
