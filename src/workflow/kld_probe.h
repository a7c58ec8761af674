// `qmix plan --measure TEXT` and the workflow's [plan] measure: the LossProbe that measures, for a
// set of tensors quantized to given types (every other tensor kept as stored), the mean
// KL-divergence of the model against its unquantized self on a short text. Each probe quantizes
// into a temporary GGUF with our own quantizer (as `qmix quantize` would, with the quantize
// imatrix) and evaluates it with the eval library; results are cached on disk under a key of the
// model's bytes, the tokens and the change, so a re-plan measures nothing.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "core/progress.h"
#include "eval/model_session.h"
#include "recipe/planner.h"
#include "recipe/quantize_model.h"

namespace qmix {

struct KldProbeConfig {
  std::filesystem::path model, text, imatrix;
  int64_t n_ctx = 128, n_chunks = 8;
  std::filesystem::path cache_dir;  // empty: no cache
  const CancelToken* cancel = nullptr;
};

class KldProbe final : public LossProbe {
 public:
  static Expected<std::unique_ptr<KldProbe>> create(KldProbeConfig config);
  ~KldProbe() override;
  KldProbe(const KldProbe&) = delete;
  KldProbe& operator=(const KldProbe&) = delete;

  Expected<double> measure(std::span<const std::pair<std::string, GgmlType>> types) override;

 private:
  explicit KldProbe(KldProbeConfig config) : config_(std::move(config)) {}
  Status prepare();
  uint64_t cache_key(std::span<const std::pair<std::string, GgmlType>> types) const;
  Expected<double> evaluate_change(std::span<const std::pair<std::string, GgmlType>> types);

  KldProbeConfig config_;
  std::unique_ptr<GgufModel> input_;
  std::vector<int32_t> tokens_;
  std::optional<int32_t> bos_;
  ImportanceData importance_;
  std::filesystem::path work_dir_;
  uint64_t model_hash_ = 0;
};

}  // namespace qmix
