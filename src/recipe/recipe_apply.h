// Resolving a recipe against a model's tensor list: which rule decides each tensor's type,
// which floors and ceilings moved it, and what does not fit (conflicts between provenances,
// rules that match nothing, tensors no rule covers, types whose blocks do not divide a row).
// The precedence is documented in docs/recipe.md; `qmix recipe explain` shows it per tensor.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "recipe/name_regex.h"
#include "recipe/recipe.h"

namespace qmix {

// What a recipe needs to know about a tensor. `shape` may be empty when only a type table is
// known (sizes and block-size checks are then skipped).
struct TensorDesc {
  std::string name;
  GgmlType type = GgmlType::F32;
  std::vector<int64_t> shape;  // ggml order: shape[0] is the row length

  uint64_t n_elements() const;
  std::optional<uint64_t> bytes_as(GgmlType t) const;  // nullopt: shape unknown or not divisible
};

// A model's tensor list read from a GGUF header (tensor data is never touched).
struct ModelTensors {
  std::filesystem::path path;                  // the file read ("" when built in code)
  std::string source;                          // file name for messages
  std::string architecture;                    // general.architecture ("" if absent)
  int layers = 0;                              // {arch}.block_count, else 1 + the highest blk.N
  int64_t file_type = -1;                      // general.file_type (-1 if absent)
  std::optional<std::string> embedded_recipe;  // the qmix.recipe key, if present
  std::vector<TensorDesc> tensors;
};

Expected<ModelTensors> read_model_tensors(const std::filesystem::path& path);

// A recipe with its regexes compiled once.
class CompiledRecipe {
 public:
  static Expected<CompiledRecipe> compile(Recipe recipe);
  const Recipe& recipe() const { return recipe_; }
  bool matches(size_t rule, std::string_view name, const TensorName& parsed) const;

 private:
  Recipe recipe_;
  std::vector<std::optional<NameRegex>> regex_;
};

struct TensorPick {
  std::optional<GgmlType> type;    // final type; nullopt: nothing decided it
  std::optional<GgmlType> chosen;  // before floors and ceilings
  int chosen_by = -1;              // rule index that chose; -1: the base type (or none)
  int floor_by = -1;               // rule whose `min` raised the choice (-1: none)
  int ceiling_by = -1;             // rule whose `max` lowered it (-1: none)
  std::vector<int> matched;        // every rule whose selectors match, in order
};

enum class ConflictKind {
  kBelowFloor,         // the chooser's type is below a floor of another provenance
  kAboveCeiling,       // the chooser's type is above a ceiling of another provenance
  kFloorAboveCeiling,  // a floor and a ceiling that cannot both hold (the floor wins)
};

struct RuleConflict {
  size_t tensor = 0;
  ConflictKind kind = ConflictKind::kBelowFloor;
  int rule_a = -1;  // the chooser (or the floor for kFloorAboveCeiling)
  int rule_b = -1;  // the limit that won (or the ceiling that was dropped)
  GgmlType wanted = GgmlType::F32;
  GgmlType applied = GgmlType::F32;
};

struct Resolution {
  std::vector<TensorPick> picks;  // one per tensor, same order
  std::vector<RuleConflict> conflicts;
  std::vector<size_t> unused_rules;  // rules that match no tensor
  std::vector<size_t> uncovered;     // tensors without a type (no rule chose one, no base)
  std::vector<size_t> incompatible;  // type's block size does not divide the row length
};

// `base` (empty, or one entry per tensor) is what the base preset would choose; rules refine
// it. Never fails: problems are listed in the Resolution for the caller to judge.
Resolution resolve_recipe(const CompiledRecipe& recipe, std::span<const TensorDesc> tensors,
                          std::span<const std::optional<GgmlType>> base = {});

// One line per conflict, naming both rules: "blk.3.ssm_out.weight: data rule #7 (line 40)
// chose q4_K below the floor q8_0 of architecture rule #2 (line 12); q8_0 applies".
std::string describe_conflict(const Recipe& recipe, std::span<const TensorDesc> tensors,
                              const RuleConflict& conflict);

// The tensors whose resolved type differs from `tensors[i].type` (exactness checks).
std::vector<size_t> type_mismatches(const Resolution& res, std::span<const TensorDesc> tensors);

}  // namespace qmix
