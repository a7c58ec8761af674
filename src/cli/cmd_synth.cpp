// `qmix synth`: random-weight GGUF models of real shapes, for benchmarks.
#include <map>

#include "cli/commands.h"
#include "model/synth.h"

namespace qmix::cli {
namespace {

struct SynthArgs {
  std::string arch = "qwen3", shape, type = "bf16", out, tokenizer_from;
  int64_t layers = -1, hidden = -1, ffn = -1, heads = -1, kv_heads = -1, head_dim = -1, vocab = -1;
  int64_t experts = -1, experts_used = -1, expert_ffn = -1;
  double sigma = 0.02;
  uint64_t seed = 1;
  bool tied = false;
};

Expected<SynthSpec> build_spec(const SynthArgs& a) {
  SynthSpec s;
  if (!a.shape.empty()) {
    QMIX_TRY_ASSIGN(s, synth_shape(a.shape));
  } else {
    QMIX_TRY_ASSIGN(const ArchInfo* arch, arch_by_name(a.arch));
    s.arch = arch->arch;
  }
  // Explicit flags override the shape's values.
  const std::pair<int64_t, int64_t*> overrides[] = {
      {a.layers, &s.layers},        {a.hidden, &s.hidden},     {a.ffn, &s.ffn},
      {a.heads, &s.heads},          {a.kv_heads, &s.kv_heads}, {a.head_dim, &s.head_dim},
      {a.vocab, &s.vocab},          {a.experts, &s.experts},   {a.experts_used, &s.experts_used},
      {a.expert_ffn, &s.expert_ffn}};
  for (const auto& [value, field] : overrides)
    if (value >= 0) *field = value;
  if (a.tied) s.tied_embeddings = true;
  QMIX_TRY_ASSIGN(const QuantType* type, quant_type_by_name(a.type));
  s.type = type->id;
  s.sigma = a.sigma;
  s.seed = a.seed;
  if (!a.tokenizer_from.empty()) s.tokenizer_from = a.tokenizer_from;
  return s;
}

}  // namespace

void register_synth(CLI::App& app, CommandTable& table) {
  auto a = std::make_shared<SynthArgs>();
  auto* sub = app.add_subcommand("synth", "write a random-weight GGUF model of a real shape");
  sub->add_option("--arch", a->arch, "llama | qwen3 | qwen3moe | qwen35 | qwen35moe");
  sub->add_option("--shape", a->shape, "named shape: " + synth_shape_names());
  sub->add_option("--layers", a->layers);
  sub->add_option("--hidden", a->hidden);
  sub->add_option("--ffn", a->ffn);
  sub->add_option("--heads", a->heads);
  sub->add_option("--kv-heads", a->kv_heads);
  sub->add_option("--head-dim", a->head_dim);
  sub->add_option("--vocab", a->vocab);
  sub->add_option("--experts", a->experts);
  sub->add_option("--experts-used", a->experts_used);
  sub->add_option("--expert-ffn", a->expert_ffn);
  sub->add_flag("--tied", a->tied, "tie output to token_embd");
  sub->add_option("--type", a->type, "bf16 | f16 | f32 (2-D weights)");
  sub->add_option("--sigma", a->sigma, "weight standard deviation (default 0.02)");
  sub->add_option("--seed", a->seed);
  sub->add_option("--tokenizer-from", a->tokenizer_from, "copy the tokenizer of this GGUF");
  sub->add_option("-o,--output", a->out, "output GGUF")->required();
  table.add(sub, [a] {
    auto spec = build_spec(*a);
    if (!spec.ok()) return report_error(spec.error());
    const Status s = write_synthetic_model(*spec, a->out);
    return s.ok() ? 0 : report_error(s.error());
  });
}

}  // namespace qmix::cli
