#include "convert/converter.h"

#include <array>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "convert/arch_table.h"
#include "convert/hf_checkpoint.h"
#include "convert/hf_tokenizer.h"
#include "convert/tensor_plan.h"
#include "convert/tensor_stream.h"
#include "core/thread_pool.h"
#include "gguf/gguf_writer.h"
#include "model/hparams.h"

namespace qmix {
namespace {

namespace fs = std::filesystem;

constexpr std::array kOutTypes = {
    OutType{"f32", GgmlType::F32, 0},
    OutType{"f16", GgmlType::F16, 1},
    OutType{"bf16", GgmlType::BF16, 32},
    OutType{"q8_0", GgmlType::Q8_0, 7},
};

constexpr uint32_t kQuantizationVersion = 2;  // GGML_QNT_VERSION

const OutType& out_type_for(GgmlType type) {
  for (const auto& t : kOutTypes)
    if (t.type == type) return t;
  QMIX_CHECK(false);
  return kOutTypes[0];
}

// llama.cpp's "auto": the dtype of the first tensor with two or more dimensions.
const OutType& resolve_auto(const HfCheckpoint& checkpoint) {
  for (const auto& ref : checkpoint.tensors()) {
    if (ref.tensor->shape.size() < 2) continue;
    return out_type_for(ref.tensor->dtype->name == "BF16" ? GgmlType::BF16 : GgmlType::F16);
  }
  return out_type_for(GgmlType::F16);
}

Expected<GgufValue> meta_value(const MetaRule& rule, const nlohmann::ordered_json& v) {
  if (rule.kind == MetaKind::kF32 && v.is_number()) return GgufValue::f32(v.get<float>());
  if (rule.kind == MetaKind::kU32 && v.is_number_unsigned() && v.get<uint64_t>() <= UINT32_MAX)
    return GgufValue::u32(static_cast<uint32_t>(v.get<uint64_t>()));
  return make_error(ErrorCode::kInvalidArgument, "config.json: {} has an invalid value {}",
                    rule.hf_keys[0], v.dump());
}

Status write_meta_rules(GgufWriter& w, std::string_view arch, std::span<const MetaRule> rules,
                        const HfConfig& config) {
  for (const MetaRule& rule : rules) {
    std::vector<GgufKv> kvs;
    if (rule.derive != nullptr) {
      QMIX_TRY_ASSIGN(kvs, rule.derive(config));
    } else {
      const nlohmann::ordered_json* v = nullptr;
      for (auto key : rule.hf_keys)
        if (!key.empty() && (v = config.find({key})) != nullptr) break;
      if (v == nullptr && rule.need == Need::kRequired)
        return make_error(ErrorCode::kInvalidArgument, "config.json: missing {}", rule.hf_keys[0]);
      if (v == nullptr) continue;
      QMIX_TRY_ASSIGN(GgufValue value, meta_value(rule, *v));
      kvs.push_back({std::string(rule.key), std::move(value)});
    }
    for (auto& kv : kvs) w.set(fmt::format("{}.{}", arch, kv.key), std::move(kv.value));
  }
  return ok_status();
}

struct ParamCounts {
  uint64_t total = 0, shared = 0, expert = 0, expert_count = 0;
};

// gguf-py's get_total_parameter_count: stacked expert tensors count once per expert.
ParamCounts count_params(const std::vector<PlannedTensor>& plan) {
  ParamCounts c;
  uint64_t expert_sum = 0, expert_tensors = 0;
  for (const auto& t : plan) {
    const uint64_t n = t.n_elements();
    if (t.name.find("_exps.") != std::string::npos && t.shape.size() >= 3) {
      const auto experts = static_cast<uint64_t>(t.shape[t.name.ends_with(".bias") ? 1 : 2]);
      c.expert += n / experts;
      expert_sum += experts;
      ++expert_tensors;
    } else {
      c.shared += n;
    }
    c.total += n;
  }
  if (expert_tensors > 0) c.expert_count = expert_sum / expert_tensors;
  return c;
}

std::string directory_name(const fs::path& dir) {
  fs::path p = fs::absolute(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename().string();
}

// The output may not replace one of the inputs (the rename would destroy it).
Status check_output_path(const fs::path& dir, const fs::path& output) {
  std::error_code ec;
  if (!fs::exists(output, ec)) return ok_status();
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (fs::equivalent(e.path(), output, ec))
      return make_error(ErrorCode::kInvalidArgument, "{}: the output would overwrite an input file",
                        output.string());
  return ok_status();
}

// A checkpoint that disagrees with its own config converts into a file llama.cpp rejects;
// say so now, for the tensors whose shape the config fixes completely.
Status check_embedding_shapes(const std::vector<PlannedTensor>& plan, const HfConfig& config) {
  QMIX_TRY_ASSIGN(const auto hidden, config.get_int({"hidden_size", "n_embd", "dim"}));
  QMIX_TRY_ASSIGN(const auto vocab, config.get_int({"vocab_size"}));
  for (const auto& t : plan) {
    if (t.role != Role::kTokenEmbd && t.role != Role::kOutput) continue;
    const std::vector<int64_t> expected = {hidden.value_or(t.shape[0]),
                                           vocab.value_or(t.shape.back())};
    if (t.shape != expected)
      return make_error(ErrorCode::kInvalidArgument,
                        "tensor '{}' (from '{}'): shape [{}] does not match config.json "
                        "hidden_size {} and vocab_size {}",
                        t.name, t.sources.front().tensor->name, fmt::join(t.shape, ", "),
                        expected[0], expected[1]);
  }
  return ok_status();
}

struct Prepared {
  const ArchSpec* spec = nullptr;
  const OutType* outtype = nullptr;
  std::vector<PlannedTensor> plan;
  TokenizerMetadata tokenizer;
  ConvertReport report;
};

Expected<Prepared> prepare(const HfCheckpoint& ck, const fs::path& dir, const ConvertOptions& o) {
  Prepared p;
  QMIX_TRY_ASSIGN(p.report.model_class, ck.config().model_class());
  QMIX_TRY_ASSIGN(p.spec, arch_spec_for_class(p.report.model_class));
  QMIX_TRY(arch_by_name(p.spec->gguf_arch));  // the engine knows the architecture
  if (o.outtype == "auto") {
    p.outtype = &resolve_auto(ck);
  } else {
    QMIX_TRY_ASSIGN(p.outtype, out_type_by_name(o.outtype));
  }
  QMIX_TRY_ASSIGN(p.plan, plan_tensors(ck, *p.spec, p.outtype->type));
  QMIX_TRY(check_embedding_shapes(p.plan, ck.config()));
  TokenizerOptions topts;
  QMIX_TRY_ASSIGN(const auto vocab, ck.config().get_int({"vocab_size"}));
  topts.vocab_size = vocab.value_or(0);
  topts.pre_tokenizer = o.pre_tokenizer;
  QMIX_TRY_ASSIGN(p.tokenizer, read_tokenizer_metadata(dir, topts));
  const ParamCounts params = count_params(p.plan);
  p.report.arch = p.spec->gguf_arch;
  p.report.outtype = p.outtype->name;
  p.report.name = model_name_from_directory(directory_name(dir));
  p.report.size_label =
      params.total > 0 ? size_label(params.total, params.shared, params.expert, params.expert_count)
                       : "";
  p.report.pre_tokenizer = p.tokenizer.pre_tokenizer;
  p.report.n_tokens = p.tokenizer.n_tokens;
  p.report.n_tensors = p.plan.size();
  p.report.n_params = params.total;
  return p;
}

// Metadata in the order llama.cpp writes it.
Status build_header(GgufWriter& w, const Prepared& p, const HfConfig& config) {
  const std::string_view arch = p.spec->gguf_arch;
  w.set("general.architecture", GgufValue::string(std::string(arch)));
  w.set("general.type", GgufValue::string("model"));
  w.set("general.name", GgufValue::string(p.report.name));
  if (!p.report.size_label.empty())
    w.set("general.size_label", GgufValue::string(p.report.size_label));
  QMIX_TRY(write_meta_rules(w, arch, text_model_keys(), config));
  w.set("general.file_type", GgufValue::u32(p.outtype->file_type));
  QMIX_TRY(write_meta_rules(w, arch, p.spec->arch_keys, config));
  w.set("general.quantization_version", GgufValue::u32(kQuantizationVersion));
  for (const auto& kv : p.tokenizer.kvs) w.set(kv.key, kv.value);
  QMIX_TRY(write_meta_rules(w, arch, p.spec->trailing_keys, config));
  for (const auto& t : p.plan) QMIX_TRY(w.add_tensor(t.name, t.shape, t.type));
  return ok_status();
}

Status write_tensors(GgufWriter& w, const std::vector<PlannedTensor>& plan,
                     const ConvertOptions& o) {
  ThreadPool pool(o.threads);
  TensorStreamOptions so;
  so.pool = &pool;
  so.cancel = o.cancel;
  uint64_t total = 0, done = 0;
  for (const auto& t : plan) total += planned_tensor_bytes(t);
  std::vector<std::byte> buffer;
  for (const auto& t : plan) {
    if (o.progress != nullptr) o.progress->update(done, total, t.name);
    QMIX_TRY(encode_planned_tensor(t, buffer, so));
    QMIX_TRY(w.write_tensor_data(buffer));
    done += buffer.size();
  }
  if (o.progress != nullptr) {
    o.progress->update(total, total, "");
    o.progress->finish();
  }
  return ok_status();
}

}  // namespace

std::span<const OutType> out_types() { return kOutTypes; }

Expected<const OutType*> out_type_by_name(std::string_view name) {
  std::string names;
  for (const auto& t : kOutTypes) {
    if (t.name == name) return &t;
    names += std::string(t.name) + ", ";
  }
  return make_error(ErrorCode::kInvalidArgument, "unknown output type '{}' (valid: {}auto)", name,
                    names);
}

Expected<ConvertReport> convert_model(const fs::path& model_dir, const fs::path& output,
                                      const ConvertOptions& options) {
  QMIX_TRY_ASSIGN(const HfCheckpoint ck, HfCheckpoint::open(model_dir));
  QMIX_TRY(check_output_path(model_dir, output));
  QMIX_TRY_ASSIGN(Prepared p, prepare(ck, model_dir, options));
  GgufWriter writer;
  QMIX_TRY(build_header(writer, p, ck.config()));
  QMIX_TRY(writer.begin(output));
  QMIX_TRY(write_tensors(writer, p.plan, options));
  QMIX_TRY(writer.finish());
  p.report.file_bytes = writer.file_size();
  return p.report;
}

}  // namespace qmix
