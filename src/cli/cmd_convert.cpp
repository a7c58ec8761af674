// `qmix convert MODEL_DIR -o OUT.gguf`: Hugging Face safetensors checkpoint → GGUF, with the
// tensors, bytes and metadata llama.cpp's convert_hf_to_gguf.py would write.
#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/interrupt.h"
#include "cli/progress_bar.h"
#include "convert/converter.h"

namespace qmix::cli {
namespace {

struct ConvertArgs {
  std::string model_dir;
  std::string output;
  std::string outtype = "auto";
  std::string pre;
  int threads = 0;
  bool json = false;
};

void print_report(const ConvertReport& r, const std::string& output, bool json) {
  if (json) {
    const nlohmann::ordered_json j = {{"output", output},
                                      {"model_class", r.model_class},
                                      {"architecture", r.arch},
                                      {"outtype", r.outtype},
                                      {"name", r.name},
                                      {"size_label", r.size_label},
                                      {"tensors", r.n_tensors},
                                      {"parameters", r.n_params},
                                      {"tokens", r.n_tokens},
                                      {"pre_tokenizer", r.pre_tokenizer},
                                      {"file_bytes", r.file_bytes}};
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("%s", fmt::format("{} ({}, {}) -> {}\n  {} tensors, {} parameters ({}), {:.1f} MiB, "
                                "{}\n  tokenizer: {} tokens, pre-tokenizer {}\n",
                                r.name, r.model_class, r.arch, output, r.n_tensors, r.n_params,
                                r.size_label, static_cast<double>(r.file_bytes) / (1 << 20),
                                r.outtype, r.n_tokens, r.pre_tokenizer)
                        .c_str());
}

int run_convert(const ConvertArgs& a) {
  ConvertOptions options;
  options.outtype = a.outtype;
  options.pre_tokenizer = a.pre;
  options.threads = a.threads;
  ProgressBar bar("convert", ProgressUnit::kBytes);
  InterruptGuard interrupt;
  options.progress = &bar;
  options.cancel = &interrupt.token();
  auto report = convert_model(a.model_dir, a.output, options);
  bar.finish();
  if (!report.ok()) return report_error(report.error());
  print_report(*report, a.output, a.json);
  return 0;
}

}  // namespace

void register_convert(CLI::App& app, CommandTable& table) {
  auto a = std::make_shared<ConvertArgs>();
  auto* sub = app.add_subcommand("convert", "Hugging Face safetensors model directory -> GGUF");
  sub->add_option("model_dir", a->model_dir,
                  "directory with config.json, tokenizer.json and *.safetensors")
      ->required();
  sub->add_option("-o,--output", a->output, "output GGUF file")->required();
  sub->add_option("--outtype", a->outtype,
                  "f32 | f16 | bf16 | q8_0 | auto (the checkpoint's bf16/f16; default)");
  sub->add_option("--pre", a->pre,
                  "tokenizer.ggml.pre name when the pre-tokenizer is not recognised");
  sub->add_option("-t,--threads", a->threads, "threads (default: all cores)");
  sub->add_flag("--json", a->json, "print the summary as JSON");
  table.add(sub, [a] { return run_convert(*a); });
}

}  // namespace qmix::cli
