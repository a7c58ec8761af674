// `qmix plan`: the recipe with the least predicted loss under a size budget (issue #12,
// docs/plan.md). The pieces:
//   - sensitivity of every tensor to every candidate type (plan_sensitivity.h), from the actual
//     weights and one or more importance matrices mixed by weight;
//   - a loss model turning it into comparable per-tensor losses (LossModel below), optionally
//     calibrated per role by measured KL-divergence (LossProbe);
//   - hard constraints: tensors quantize never touches, architecture floors (plan_floors table),
//     the base recipe's limits and its architecture/manual type choices, row-size fallbacks;
//   - the multiple-choice knapsack (plan_solver.h) over the rest;
//   - a recipe: the base's rules, the floors, and one `data` rule with its evidence per tensor
//     whose planned type differs from what the base would give it.
// The CLI (`qmix plan`) and `qmix workflow` are thin wrappers around plan_recipe().
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/progress.h"
#include "quant/types.h"
#include "recipe/recipe.h"

namespace qmix {

enum class BudgetKind { kBitsPerWeight, kBytes, kVram };

// What the weights may take. Bits per weight count every tensor, as `qmix inspect` and
// llama-quantize do: 8 · Σ bytes / Σ elements. With kVram the weights get what the memory
// model (model/memory_model.h, docs/fit.md) leaves at `ctx` tokens of `kv_type` cache.
struct PlanBudget {
  BudgetKind kind = BudgetKind::kBitsPerWeight;
  double bpw = 0;      // kBitsPerWeight
  uint64_t bytes = 0;  // kBytes: the weights; kVram: the whole memory
  int64_t ctx = 4096;  // kVram
  GgmlType kv_type = GgmlType::F16;
  uint64_t overhead = 512ull << 20;  // kVram: runtime overhead reserved (as `qmix fit`)
};

// How a tensor's sensitivity becomes its predicted loss (docs/plan.md, "Loss model"):
//   kRelative: E‖ΔWx‖² / E‖Wx‖², the output error relative to the output's energy;
//   kAbsolute: E‖ΔWx‖² with the mixed, normalised importance.
// Either is multiplied by the tensor's role scale (1, or calibrated by a LossProbe).
enum class LossModel { kRelative, kAbsolute };
std::string_view loss_model_name(LossModel model);
Expected<LossModel> loss_model_by_name(std::string_view name);

// Measures the model's loss (KL-divergence against the unquantized model on a short text) when
// the listed tensors are quantized to the listed types and every other keeps its source type.
// Implemented above the recipe layer (it runs the engine); see cmd_plan.cpp.
class LossProbe {
 public:
  virtual ~LossProbe() = default;
  virtual Expected<double> measure(std::span<const std::pair<std::string, GgmlType>> types) = 0;
};

struct PlanImatrixInput {
  std::filesystem::path path;
  double weight = 1.0;
};

struct PlanRequest {
  std::filesystem::path model;
  std::vector<PlanImatrixInput> imatrices;  // at least one; mixed by weight
  std::filesystem::path quantize_imatrix;   // the one `quantize` will use; empty: the first
  PlanBudget budget;
  std::string base = "Q4_K_M";        // base preset (ignored when base_recipe has one)
  std::optional<Recipe> base_recipe;  // its rules are kept; its limits are constraints
  std::vector<GgmlType> candidates;   // empty: default_plan_candidates()
  LossModel loss = LossModel::kAbsolute;
  std::filesystem::path cache_dir;       // sensitivity cache; empty: none
  int64_t sample_rows = 512;             // rows sampled per tensor
  int threads = 0;                       // 0: all cores
  LossProbe* probe = nullptr;            // set: calibrate a scale per role and layer zone
  GgmlType probe_type = GgmlType::Q3_K;  // the type a group is quantized to when probed
  // Layer zones a role's --measure scale is split into (layer_zone()): 1 = one scale per role;
  // the default 5 calibrates the first block, three runs of middle blocks and the last block
  // apart (docs/plan.md compares 1, 2, 3 and 5).
  int probe_zones = 5;
  ProgressSink* progress = nullptr;
  WarningSink* warnings = nullptr;
  const CancelToken* cancel = nullptr;
};

std::vector<GgmlType> default_plan_candidates();

enum class PlanStatus {
  kPlanned,       // the solver chose the type
  kFixedByRule,   // an architecture or manual `type` rule of the base recipe decides
  kNotQuantized,  // quantize keeps it (1-D, norms, routers, …)
};
std::string_view plan_status_name(PlanStatus status);

struct PlanOption {
  GgmlType type = GgmlType::F32;
  uint64_t bytes = 0;
  double error = 0;  // E‖ΔWx‖² (sensitivity)
  double loss = 0;   // predicted loss
};

struct PlanEntry {
  std::string name;
  std::string role;         // role name
  std::string scale_group;  // role and layer zone: the unit of --measure scales
  uint64_t n_elements = 0;
  GgmlType base_type = GgmlType::F32;  // what the base (preset + base recipe) gives it
  GgmlType type = GgmlType::F32;       // planned
  uint64_t bytes = 0;
  PlanStatus status = PlanStatus::kPlanned;
  std::string constraint;           // the floor, ceiling or rule that limited it ("" if none)
  std::vector<PlanOption> options;  // allowed options, by bytes (kPlanned; else the one type)
  double energy = 0;                // E‖Wx‖²
  double loss = 0, base_loss = 0;   // predicted, at `type` and at `base_type` (NaN: unknown)
  // Loss saved per byte by the step onto `type` from the next smaller option (what the bytes
  // bought; NaN at the smallest option) and by the next larger option (what more would buy).
  double gain_per_byte = NAN, next_gain_per_byte = NAN;
};

struct PlanResult {
  Recipe recipe;
  std::vector<PlanEntry> tensors;  // model order
  std::string base_preset;
  uint64_t n_elements = 0;
  uint64_t budget_bytes = 0, bytes = 0, base_bytes = 0, min_bytes = 0;
  double bpw = 0, base_bpw = 0;
  double predicted_loss = 0, base_predicted_loss = 0;
  double lambda = 0;                     // loss per byte at the Lagrangian optimum
  std::map<std::string, double> scales;  // per scale group (1 without a probe)
  size_t cached_tensors = 0, measured_tensors = 0;
  std::string quantize_imatrix;  // the imatrix the errors were measured with
};

// The layer zone of block `block` (of `n_blocks`) among `zones` (docs/plan.md): with 3 or more,
// the first block is zone 0, the last zone `zones` − 1 and the blocks between are split evenly
// over the rest; with 2, the first and last block are zone 0 and the others zone 1; with 1 (or a
// tensor outside the blocks, block < 0) every block is zone 0. Why the edges apart: an error in
// the first block passes through every later block, and the last block writes the logits.
int layer_zone(int block, int n_blocks, int zones);

// Errors: unreadable model or imatrix, an imatrix of another model, a budget below the
// smallest achievable size (the message gives that size and bpw), no candidate types.
Expected<PlanResult> plan_recipe(const PlanRequest& request);

}  // namespace qmix
