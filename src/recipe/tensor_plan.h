// The quantization plan: for every tensor of a model, its output type and what decided it.
// compute_plan() combines a preset's mix (quant_policy.h), an ordered list of rules
// (--tensor-type, recipe files) and llama-quantize's flags exactly as llama-quantize does;
// `qmix quantize` and `--dry-run` both execute the plan, so they cannot disagree.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "gguf/gguf_model.h"
#include "quant/types.h"
#include "recipe/presets.h"
#include "recipe/quant_policy.h"

namespace qmix {

struct PlanTensor {
  std::string name;
  std::vector<int64_t> shape;  // ggml order
  GgmlType type = GgmlType::F32;
};

// Where a tensor is stored: shard of a split model and byte offset in its data section.
struct TensorLocation {
  size_t shard = 0;
  uint64_t offset = 0;
};

// What the plan needs to know about a model: the hyper-parameters the preset rules read and
// the tensor list.
struct PlanModel {
  std::string arch;
  int64_t n_layer = 0;
  int64_t n_head = 0;     // layer 0's, when per-layer
  int64_t n_head_kv = 0;  // layer 0's, when per-layer
  int64_t n_expert = 0;
  std::vector<PlanTensor> tensors;        // as stored in the input
  std::vector<TensorLocation> locations;  // parallel to `tensors`; empty when unknown
};

// Reads `{arch}.block_count`, head counts and expert count; any architecture works.
Expected<PlanModel> plan_model_from_gguf(const GgufModel& model);

// One rule: tensors whose name the pattern finds (a regular expression searched in the name,
// see name_regex.h; like llama-quantize's --tensor-type) get `type`. Rules are tried in order; the
// first match wins and the preset's own choice is skipped for that tensor (llama.cpp's "manual"
// types), but a type whose blocks do not fit the rows still falls back.
struct TensorRule {
  std::string pattern;
  GgmlType type = GgmlType::F32;
  std::string provenance = "manual";  // architecture | data | manual, as recipes label rules
  std::string source;                 // for messages: "--tensor-type attn_v=q8_0", "r.toml:12"
};

enum class MixMode { kPreset, kPure };  // --pure: the preset's default type everywhere

// The order tensors are decided and written in. llama-quantize goes by block then name, except
// with --keep-split, where each output shard mirrors an input shard (by shard, then offset).
// The layer-position rules count tensors in this order, so it can change a few choices.
enum class PlanOrder { kByName, kByShard };

struct PlanOptions {
  const Preset* preset = nullptr;  // required
  std::vector<TensorRule> rules;
  std::optional<GgmlType> output_type;      // --output-tensor-type
  std::optional<GgmlType> token_embd_type;  // --token-embedding-type
  MixMode mix = MixMode::kPreset;
  OutputTensorMode output_tensor = OutputTensorMode::kQuantize;  // --leave-output-tensor
  bool has_imatrix = false;  // changes a few preset choices (as in llama.cpp)
  PlanOrder order = PlanOrder::kByName;
};

// Which step of the plan decided a tensor's type.
enum class DecisionStep {
  kNotQuantized,  // 1-D, norm, router…: keeps its type
  kTokenEmbdFlag,
  kOutputFlag,
  kRule,
  kPreset,       // the preset's mix
  kPresetFloat,  // F32/F16/BF16 presets: no mix
  kPure,
};
std::string_view decision_step_name(DecisionStep step);  // "rule", "preset", …

struct TensorDecision {
  std::string name;
  std::vector<int64_t> shape;
  GgmlType source_type = GgmlType::F32;
  GgmlType type = GgmlType::F32;
  DecisionStep step = DecisionStep::kNotQuantized;
  std::string reason;      // in words: the rule, preset rule or flag
  std::string provenance;  // architecture | data | manual
  bool fell_back = false;  // the decided type did not fit the rows
  bool quantizable = false;
  bool requires_imatrix = false;
  uint64_t n_elements = 0;
  uint64_t source_bytes = 0;
  uint64_t bytes = 0;
  size_t shard = 0;  // input shard holding the tensor
};

struct TypeTotals {
  uint64_t tensors = 0;
  uint64_t n_elements = 0;
  uint64_t bytes = 0;
};

struct QuantPlan {
  const Preset* preset = nullptr;
  std::vector<TensorDecision> tensors;    // in output order: by block, then by name (llama.cpp)
  std::vector<std::string> unused_rules;  // sources of rules that matched no tensor
  int n_fell_back = 0;

  uint64_t n_elements() const;
  uint64_t source_bytes() const;
  uint64_t bytes() const;
  double bits_per_weight() const;              // all tensors, as llama-quantize reports
  double bits_per_weight_quantizable() const;  // only the tensors the plan may quantize
  std::map<GgmlType, TypeTotals> histogram() const;
  bool needs_imatrix() const;
};

Expected<QuantPlan> compute_plan(const PlanModel& model, const PlanOptions& options);

// llama.cpp's processing order: tensors outside blocks first, then block by block, by name.
bool plan_order_less(const std::string& a, const std::string& b);

}  // namespace qmix
