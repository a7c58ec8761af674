#include "model/synth.h"

#include <random>
#include <vector>

#include <fmt/format.h>

#include "core/fp16.h"
#include "gguf/gguf_model.h"
#include "gguf/gguf_writer.h"

namespace qmix {
namespace {

struct NamedShape {
  std::string_view name;
  SynthSpec spec;
};

SynthSpec shape(Arch arch, int64_t layers, int64_t hidden, int64_t ffn, int64_t heads, int64_t kv,
                int64_t head_dim, int64_t vocab, bool tied) {
  SynthSpec s;
  s.arch = arch;
  s.layers = layers;
  s.hidden = hidden;
  s.ffn = ffn;
  s.heads = heads;
  s.kv_heads = kv;
  s.head_dim = head_dim;
  s.vocab = vocab;
  s.tied_embeddings = tied;
  return s;
}

const std::vector<NamedShape>& named_shapes() {
  static const std::vector<NamedShape> shapes = [] {
    std::vector<NamedShape> v{
        {"anchor", shape(Arch::kQwen3, 28, 1024, 3072, 16, 8, 128, 4096, false)},
        {"qwen3-0.6b", shape(Arch::kQwen3, 28, 1024, 3072, 16, 8, 128, 151936, true)},
        {"qwen3-8b", shape(Arch::kQwen3, 36, 4096, 12288, 32, 8, 128, 151936, false)},
        {"llama-3-8b", shape(Arch::kLlama, 32, 4096, 14336, 32, 8, 128, 128256, false)},
        {"qwen3.6-27b", shape(Arch::kQwen35, 64, 5120, 17408, 24, 4, 256, 248320, false)},
    };
    SynthSpec& big = v.back().spec;
    big.linear_k_heads = 16;
    big.linear_v_heads = 48;
    big.linear_head_dim = 128;
    return v;
  }();
  return shapes;
}

class TensorSource {
 public:
  TensorSource(const SynthSpec& spec) : spec_(spec), rng_(spec.seed) {}

  // Fills a tensor: "ones" for norms, N(0, sigma²) otherwise, converted to `type`.
  std::vector<std::byte> make(const GgufTensorInfo& t, bool ones) {
    std::normal_distribution<float> normal(0.0f, static_cast<float>(spec_.sigma));
    std::vector<float> values(t.n_elements);
    for (auto& v : values) v = ones ? 1.0f : normal(rng_);
    std::vector<std::byte> out(t.n_bytes);
    if (t.type == GgmlType::F32) {
      std::memcpy(out.data(), values.data(), out.size());
      return out;
    }
    auto* h = reinterpret_cast<uint16_t*>(out.data());
    for (size_t i = 0; i < values.size(); ++i)
      h[i] = t.type == GgmlType::BF16 ? fp32_to_bf16(values[i]) : fp32_to_fp16(values[i]);
    return out;
  }

 private:
  const SynthSpec& spec_;
  std::mt19937_64 rng_;
};

struct Planned {
  std::string name;
  std::vector<int64_t> shape;
  bool vector;  // 1-D parameters are stored F32 (like llama.cpp's converter)
  bool ones;
};

void plan_attention(const SynthSpec& s, int64_t il, std::vector<Planned>& out) {
  const int64_t hd = s.head_dim;
  const bool gated = s.arch == Arch::kQwen35 || s.arch == Arch::kQwen35Moe;
  const auto n = [&](std::string_view role) { return fmt::format("blk.{}.{}.weight", il, role); };
  out.push_back({n("attn_q"), {s.hidden, (gated ? 2 : 1) * s.heads * hd}, false, false});
  out.push_back({n("attn_k"), {s.hidden, s.kv_heads * hd}, false, false});
  out.push_back({n("attn_v"), {s.hidden, s.kv_heads * hd}, false, false});
  out.push_back({n("attn_output"), {s.heads * hd, s.hidden}, false, false});
  if (s.arch != Arch::kLlama) {
    out.push_back({n("attn_q_norm"), {hd}, true, true});
    out.push_back({n("attn_k_norm"), {hd}, true, true});
  }
}

void plan_linear_attention(const SynthSpec& s, int64_t il, std::vector<Planned>& out) {
  const int64_t dk = s.linear_head_dim, nk = s.linear_k_heads, nv = s.linear_v_heads;
  const int64_t conv = 2 * nk * dk + nv * dk;
  const auto n = [&](std::string_view role) { return fmt::format("blk.{}.{}.weight", il, role); };
  out.push_back({n("attn_qkv"), {s.hidden, conv}, false, false});
  out.push_back({n("attn_gate"), {s.hidden, nv * dk}, false, false});
  out.push_back({n("ssm_alpha"), {s.hidden, nv}, false, false});
  out.push_back({n("ssm_beta"), {s.hidden, nv}, false, false});
  out.push_back({n("ssm_conv1d"), {4, conv}, true, false});
  out.push_back({fmt::format("blk.{}.ssm_a", il), {nv}, true, false});
  out.push_back({fmt::format("blk.{}.ssm_dt.bias", il), {nv}, true, false});
  out.push_back({n("ssm_norm"), {dk}, true, true});
  out.push_back({n("ssm_out"), {nv * dk, s.hidden}, false, false});
}

void plan_ffn(const SynthSpec& s, int64_t il, std::vector<Planned>& out) {
  const auto n = [&](std::string_view role) { return fmt::format("blk.{}.{}.weight", il, role); };
  if (s.experts > 0) {
    out.push_back({n("ffn_gate_inp"), {s.hidden, s.experts}, true, false});
    out.push_back({n("ffn_gate_exps"), {s.hidden, s.expert_ffn, s.experts}, false, false});
    out.push_back({n("ffn_up_exps"), {s.hidden, s.expert_ffn, s.experts}, false, false});
    out.push_back({n("ffn_down_exps"), {s.expert_ffn, s.hidden, s.experts}, false, false});
  } else {
    out.push_back({n("ffn_gate"), {s.hidden, s.ffn}, false, false});
    out.push_back({n("ffn_up"), {s.hidden, s.ffn}, false, false});
    out.push_back({n("ffn_down"), {s.ffn, s.hidden}, false, false});
  }
}

std::vector<Planned> plan_tensors(const SynthSpec& s, const ArchInfo& arch) {
  std::vector<Planned> out{{"token_embd.weight", {s.hidden, s.vocab}, false, false}};
  for (int64_t il = 0; il < s.layers; ++il) {
    out.push_back({fmt::format("blk.{}.attn_norm.weight", il), {s.hidden}, true, true});
    const bool linear = arch.hybrid && (il + 1) % s.full_attention_interval != 0;
    if (linear)
      plan_linear_attention(s, il, out);
    else
      plan_attention(s, il, out);
    const char* ffn_norm = arch.hybrid ? "post_attention_norm" : "ffn_norm";
    out.push_back({fmt::format("blk.{}.{}.weight", il, ffn_norm), {s.hidden}, true, true});
    plan_ffn(s, il, out);
  }
  out.push_back({"output_norm.weight", {s.hidden}, true, true});
  if (!s.tied_embeddings) out.push_back({"output.weight", {s.hidden, s.vocab}, false, false});
  return out;
}

void set_metadata(const SynthSpec& s, const ArchInfo& arch, GgufWriter& w) {
  const std::string a(arch.name);
  const auto key = [&](std::string_view k) { return fmt::format("{}.{}", a, k); };
  w.set("general.architecture", GgufValue::string(a));
  w.set("general.name", GgufValue::string(fmt::format("synthetic {} {}L", a, s.layers)));
  w.set("general.file_type", GgufValue::u32(s.type == GgmlType::F32   ? 0
                                            : s.type == GgmlType::F16 ? 1
                                                                      : 32));
  w.set(key("block_count"), GgufValue::u32(static_cast<uint32_t>(s.layers)));
  w.set(key("context_length"), GgufValue::u32(4096));
  w.set(key("embedding_length"), GgufValue::u32(static_cast<uint32_t>(s.hidden)));
  w.set(key("feed_forward_length"), GgufValue::u32(static_cast<uint32_t>(s.ffn)));
  w.set(key("attention.head_count"), GgufValue::u32(static_cast<uint32_t>(s.heads)));
  w.set(key("attention.head_count_kv"), GgufValue::u32(static_cast<uint32_t>(s.kv_heads)));
  w.set(key("attention.key_length"), GgufValue::u32(static_cast<uint32_t>(s.head_dim)));
  w.set(key("attention.value_length"), GgufValue::u32(static_cast<uint32_t>(s.head_dim)));
  w.set(key("attention.layer_norm_rms_epsilon"), GgufValue::f32(1e-6f));
  w.set(key("rope.freq_base"), GgufValue::f32(10000.0f));
  if (s.experts > 0) {
    w.set(key("expert_count"), GgufValue::u32(static_cast<uint32_t>(s.experts)));
    w.set(key("expert_used_count"), GgufValue::u32(static_cast<uint32_t>(s.experts_used)));
    w.set(key("expert_feed_forward_length"), GgufValue::u32(static_cast<uint32_t>(s.expert_ffn)));
  }
  if (arch.hybrid) {
    w.set(key("ssm.conv_kernel"), GgufValue::u32(4));
    w.set(key("ssm.state_size"), GgufValue::u32(static_cast<uint32_t>(s.linear_head_dim)));
    w.set(key("ssm.group_count"), GgufValue::u32(static_cast<uint32_t>(s.linear_k_heads)));
    w.set(key("ssm.time_step_rank"), GgufValue::u32(static_cast<uint32_t>(s.linear_v_heads)));
    w.set(key("ssm.inner_size"),
          GgufValue::u32(static_cast<uint32_t>(s.linear_v_heads * s.linear_head_dim)));
    w.set(key("full_attention_interval"),
          GgufValue::u32(static_cast<uint32_t>(s.full_attention_interval)));
    w.set(key("rope.dimension_count"), GgufValue::u32(static_cast<uint32_t>(s.head_dim / 4)));
  }
}

// A byte-level vocabulary (256 byte tokens, then filler tokens) when none is borrowed.
void set_builtin_tokenizer(int64_t vocab, GgufWriter& w) {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  for (int64_t i = 0; i < vocab; ++i) {
    tokens.push_back(i < 256 ? fmt::format("<0x{:02X}>", i) : fmt::format("<synth_{}>", i));
    types.push_back(i < 256 ? 6 : 1);  // BYTE, NORMAL
  }
  w.set("tokenizer.ggml.model", GgufValue::string("llama"));
  w.set("tokenizer.ggml.tokens", GgufValue::array_strings(std::move(tokens)));
  w.set("tokenizer.ggml.scores",
        GgufValue::array_f32(std::vector<float>(static_cast<size_t>(vocab), 0.0f)));
  w.set("tokenizer.ggml.token_type", GgufValue::array_i32(types));
}

Status set_tokenizer(const SynthSpec& s, GgufWriter& w) {
  if (!s.tokenizer_from) {
    set_builtin_tokenizer(s.vocab, w);
    return ok_status();
  }
  QMIX_TRY_ASSIGN(auto donor, GgufFile::open(*s.tokenizer_from));
  for (const auto& kv : donor.kvs())
    if (kv.key.starts_with("tokenizer.")) w.set(kv.key, kv.value);
  const GgufValue* tokens = donor.find("tokenizer.ggml.tokens");
  if (tokens == nullptr || static_cast<int64_t>(tokens->array_size()) != s.vocab)
    return make_error(ErrorCode::kInvalidArgument,
                      "{}: its vocabulary has {} tokens but --vocab is {}",
                      s.tokenizer_from->string(), tokens ? tokens->array_size() : 0, s.vocab);
  return ok_status();
}

Status validate(SynthSpec& s, const ArchInfo& arch) {
  if (s.head_dim == 0 && s.heads > 0) s.head_dim = s.hidden / s.heads;
  if (s.layers <= 0 || s.hidden <= 0 || s.heads <= 0 || s.kv_heads <= 0 || s.vocab <= 0 ||
      s.head_dim <= 0 || s.heads % s.kv_heads != 0)
    return make_error(
        ErrorCode::kInvalidArgument,
        "synth: layers, hidden, heads, kv-heads (dividing heads) and vocab must be positive");
  if (arch.moe && (s.experts <= 0 || s.experts_used <= 0 || s.experts_used > s.experts))
    return make_error(ErrorCode::kInvalidArgument, "synth: {} needs --experts and --experts-used",
                      arch.name);
  if (arch.moe && s.expert_ffn == 0) s.expert_ffn = s.ffn;
  if (arch.hybrid) {
    if (s.linear_k_heads == 0) s.linear_k_heads = s.kv_heads;
    if (s.linear_v_heads == 0) s.linear_v_heads = s.heads;
    if (s.linear_head_dim == 0) s.linear_head_dim = s.head_dim;
  }
  if (s.type != GgmlType::F32 && s.type != GgmlType::F16 && s.type != GgmlType::BF16)
    return make_error(ErrorCode::kInvalidArgument, "synth: --type must be f32, f16 or bf16");
  return ok_status();
}

}  // namespace

Expected<SynthSpec> synth_shape(std::string_view name) {
  for (const auto& s : named_shapes())
    if (s.name == name) return s.spec;
  return make_error(ErrorCode::kInvalidArgument, "unknown shape '{}' (known: {})", name,
                    synth_shape_names());
}

std::string synth_shape_names() {
  std::string out;
  for (const auto& s : named_shapes()) out += (out.empty() ? "" : ", ") + std::string(s.name);
  return out;
}

namespace {
const ArchInfo& arch_info(Arch arch) {
  const ArchInfo* found = nullptr;
  for (std::string_view n : {"llama", "qwen3", "qwen3moe", "qwen35", "qwen35moe"}) {
    auto a = arch_by_name(n);
    if (a.ok() && (*a)->arch == arch) found = *a;
  }
  QMIX_CHECK(found != nullptr);
  return *found;
}

}  // namespace

Expected<HParams> synth_hparams(const SynthSpec& spec_in) {
  SynthSpec s = spec_in;
  const ArchInfo& arch = arch_info(s.arch);
  QMIX_TRY(validate(s, arch));
  // Mirrors set_metadata() (tests check both give the same hyper-parameters).
  HParams h;
  h.arch = &arch;
  h.n_layer = s.layers;
  h.n_embd = s.hidden;
  h.n_ff = s.ffn;
  h.n_head = s.heads;
  h.n_head_kv = s.kv_heads;
  h.head_dim_k = h.head_dim_v = s.head_dim;
  h.n_ctx_train = 4096;
  h.n_vocab = s.vocab;
  h.n_rot = arch.hybrid ? s.head_dim / 4 : s.head_dim;
  if (s.experts > 0) {
    h.n_expert = s.experts;
    h.n_expert_used = s.experts_used;
    h.n_ff_expert = s.expert_ffn;
  }
  if (arch.hybrid) {
    h.ssm_conv_kernel = 4;
    h.ssm_state_size = s.linear_head_dim;
    h.ssm_group_count = s.linear_k_heads;
    h.ssm_time_step_rank = s.linear_v_heads;
    h.ssm_inner_size = s.linear_v_heads * s.linear_head_dim;
    h.full_attention_interval = s.full_attention_interval;
  }
  return h;
}

Expected<int64_t> synth_weight_count(const SynthSpec& spec_in) {
  SynthSpec s = spec_in;
  const ArchInfo& arch = arch_info(s.arch);
  QMIX_TRY(validate(s, arch));
  int64_t n = 0;
  for (const auto& p : plan_tensors(s, arch)) {
    int64_t e = 1;
    for (int64_t d : p.shape) e *= d;
    n += e;
  }
  return n;
}

Status write_synthetic_model(const SynthSpec& spec_in, const std::filesystem::path& out,
                             ProgressSink* progress) {
  SynthSpec spec = spec_in;
  const ArchInfo* arch = &arch_info(spec.arch);
  QMIX_TRY(validate(spec, *arch));
  GgufWriter w;
  set_metadata(spec, *arch, w);
  QMIX_TRY(set_tokenizer(spec, w));
  const auto planned = plan_tensors(spec, *arch);
  for (const auto& p : planned)
    QMIX_TRY(w.add_tensor(p.name, p.shape, p.vector ? GgmlType::F32 : spec.type));
  QMIX_TRY(w.begin(out));
  TensorSource source(spec);
  uint64_t done = 0;
  for (size_t i = 0; i < planned.size(); ++i) {
    QMIX_TRY(w.write_tensor_data(source.make(w.tensors()[i], planned[i].ones)));
    done += w.tensors()[i].n_bytes;
    if (progress) progress->update(done, w.file_size(), planned[i].name);
  }
  if (progress) progress->finish();
  return w.finish();
}

}  // namespace qmix
