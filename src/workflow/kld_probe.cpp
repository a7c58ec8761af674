#include "workflow/kld_probe.h"

#include <fstream>
#include <random>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/content_hash.h"
#include "eval/evaluate.h"
#include "recipe/importance.h"
#include "recipe/name_regex.h"
#include "recipe/presets.h"
#include "recipe/tensor_plan.h"

namespace qmix {
namespace {

namespace fs = std::filesystem;

constexpr int kProbeVersion = 1;

Expected<fs::path> make_work_dir() {
  std::random_device rd;
  std::error_code ec;
  for (int attempt = 0; attempt < 16; ++attempt) {
    const fs::path dir = fs::temp_directory_path(ec) / fmt::format("qmix-plan-{:08x}", rd());
    if (!ec && fs::create_directory(dir, ec) && !ec) return dir;
  }
  return make_error(ErrorCode::kIo, "cannot create a temporary directory for --measure");
}

std::optional<double> read_cached(const fs::path& path) {
  std::ifstream in(path);
  std::string word;
  int version = 0;
  double kld = 0;
  if (in >> word >> version >> kld && word == "qmix-kld" && version == kProbeVersion) return kld;
  return std::nullopt;
}

void write_cached(const fs::path& path, double kld) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  auto f = AtomicFile::create(path);
  if (!f.ok()) return;  // a cache that cannot be written only costs time
  const std::string text = fmt::format("qmix-kld {} {:.17g}\n", kProbeVersion, kld);
  if (f->write(std::as_bytes(std::span(text.data(), text.size()))).ok()) (void)f->commit();
}

// The evaluation both the base and every probe run: the same chunks of the same tokens.
EvalOptions eval_options(const KldProbeConfig& config, std::optional<int32_t> bos) {
  EvalOptions o;
  o.n_ctx = config.n_ctx;
  o.max_chunks = config.n_chunks;
  o.bos_token = bos;
  o.cancel = config.cancel;
  return o;
}

}  // namespace

Expected<std::unique_ptr<KldProbe>> KldProbe::create(KldProbeConfig config) {
  std::unique_ptr<KldProbe> probe(new KldProbe(std::move(config)));
  QMIX_TRY(probe->prepare());
  return probe;
}

KldProbe::~KldProbe() {
  std::error_code ec;
  if (!work_dir_.empty()) fs::remove_all(work_dir_, ec);
}

// Reads the model, the text and the imatrix; hashes the model; saves the base distributions.
Status KldProbe::prepare() {
  QMIX_TRY_ASSIGN(LoadedModel base, load_model(config_.model, EngineOptions{}));
  QMIX_TRY_ASSIGN(tokens_, tokenize_text_file(*base.tokenizer, config_.text));
  bos_ = chunk_bos(*base.tokenizer, BosPolicy::kAuto);
  QMIX_TRY_ASSIGN(importance_, read_importance(config_.imatrix, {}));
  QMIX_TRY_ASSIGN(GgufModel input, GgufModel::open(config_.model));
  input_ = std::make_unique<GgufModel>(std::move(input));
  ContentHash h;
  for (const GgufTensorRef& t : input_->tensors()) {
    h.add(t.info->name);
    h.add(input_->tensor_data(t));
  }
  h.add_values(std::span<const int32_t>(tokens_));
  h.add_value(config_.n_ctx);
  h.add_value(config_.n_chunks);
  model_hash_ = h.digest();
  QMIX_TRY_ASSIGN(work_dir_, make_work_dir());
  EvalOptions o = eval_options(config_, bos_);
  o.save_logits = work_dir_ / "base.logits";
  QMIX_TRY_ASSIGN(const EvalOutcome outcome, evaluate(*base.engine, tokens_, o));
  if (outcome.ppl.chunks == 0)
    return make_error(ErrorCode::kInvalidArgument,
                      "--measure {}: the text has fewer than {} tokens (one chunk)",
                      config_.text.string(), config_.n_ctx);
  return ok_status();
}

uint64_t KldProbe::cache_key(std::span<const std::pair<std::string, GgmlType>> types) const {
  ContentHash h;
  h.add_value(model_hash_);
  h.add_value(kProbeVersion);
  for (const auto& [name, type] : types) {
    h.add(name);
    h.add_value(type);
    if (const auto it = importance_.values.find(name); it != importance_.values.end())
      h.add_values(std::span<const float>(it->second));
  }
  return h.digest();
}

Expected<double> KldProbe::measure(std::span<const std::pair<std::string, GgmlType>> types) {
  const fs::path cached =
      config_.cache_dir.empty()
          ? fs::path()
          : config_.cache_dir / "kld" / fmt::format("{:016x}.kld", cache_key(types));
  if (!cached.empty())
    if (const auto kld = read_cached(cached)) return *kld;
  QMIX_TRY_ASSIGN(const double kld, evaluate_change(types));
  if (!cached.empty()) write_cached(cached, kld);
  return kld;
}

// Quantizes the listed tensors (every other tensor keeps its stored type) and measures KLD.
Expected<double> KldProbe::evaluate_change(
    std::span<const std::pair<std::string, GgmlType>> types) {
  QMIX_TRY_ASSIGN(const PlanModel model, plan_model_from_gguf(*input_));
  PlanOptions options;
  QMIX_TRY_ASSIGN(options.preset, find_preset("Q8_0"));
  options.has_imatrix = true;
  for (const auto& [name, type] : types)
    options.rules.push_back({fmt::format("^{}$", escape_regex(name)), type, "data", "--measure"});
  for (const PlanTensor& t : model.tensors)  // after the change: first match wins
    options.rules.push_back(
        {fmt::format("^{}$", escape_regex(t.name)), t.type, "manual", "--measure keeps"});
  QMIX_TRY_ASSIGN(const QuantPlan plan, compute_plan(model, options));
  QuantizeJob job;
  job.plan = &plan;
  job.imatrix = &importance_;
  job.cancel = config_.cancel;
  const fs::path probe_file = work_dir_ / "probe.gguf";
  QMIX_TRY(quantize_model(*input_, probe_file, job));
  QMIX_TRY_ASSIGN(LoadedModel probe, load_model(probe_file, EngineOptions{}));
  EvalOptions o = eval_options(config_, bos_);
  o.kld_base = work_dir_ / "base.logits";
  QMIX_TRY_ASSIGN(const EvalOutcome outcome, evaluate(*probe.engine, tokens_, o));
  if (!outcome.kld) return make_error(ErrorCode::kInternal, "--measure: no KLD was computed");
  return outcome.kld->kld.mean;
}

}  // namespace qmix
