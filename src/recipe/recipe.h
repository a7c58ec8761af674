// Recipes as data: a named, ordered list of rules that give tensors their quantization types,
// each rule carrying its provenance (why it exists) and a reason. The TOML form is documented
// in docs/recipe.md; recipe_toml.cpp reads and writes it, recipe_apply.h resolves a recipe
// against a model's tensor list.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/error.h"
#include "model/tensor_roles.h"
#include "quant/types.h"

namespace qmix {

// GGUF metadata key under which qmix stores the recipe (TOML text) a file was made with;
// `recipe extract` returns it verbatim when present.
inline constexpr std::string_view kRecipeMetadataKey = "qmix.recipe";

// Why a rule exists. Architecture rules follow from a tensor's role and structure (e.g. SSM
// outputs ≥ Q8_0 because recurrent error compounds over the sequence); data rules from
// measurements (imatrix statistics, KL divergence) recorded as evidence; manual rules are a
// person's choice or an import. Tools keep and show them apart (docs/recipe.md, "Conflicts").
enum class Provenance { kArchitecture, kData, kManual };

std::string_view provenance_name(Provenance p);
Expected<Provenance> provenance_by_name(std::string_view name);

struct LayerRange {
  int first = 0;
  int last = 0;  // inclusive
  bool operator==(const LayerRange&) const = default;
};

// A set of block indices written "0-3,7,12-16"; kept as sorted, disjoint, non-adjacent ranges.
class LayerSet {
 public:
  LayerSet() = default;
  static Expected<LayerSet> parse(std::string_view text);
  static LayerSet from_blocks(std::span<const int> blocks);  // any order, duplicates allowed
  static LayerSet from_ranges(std::vector<LayerRange> ranges);

  bool contains(int block) const;
  bool empty() const { return ranges_.empty(); }
  int max_block() const { return ranges_.empty() ? -1 : ranges_.back().last; }
  int min_block() const { return ranges_.empty() ? -1 : ranges_.front().first; }
  std::vector<int> blocks() const;
  const std::vector<LayerRange>& ranges() const { return ranges_; }
  std::string to_string() const;  // "0-3,7,12-16"
  // Maps a set made for `from` blocks onto a model of `to` blocks proportionally: block b
  // covers [b*to/from, (b+1)*to/from) (at least one block), so "first eighth" stays so.
  LayerSet scaled(int from, int to) const;
  bool operator==(const LayerSet&) const = default;

 private:
  std::vector<LayerRange> ranges_;
};

// A role with an optional tensor-name suffix: "attn_q" (any suffix), "attn_q.bias".
struct RoleSelector {
  Role role = Role::kOther;
  std::optional<std::string> suffix;  // "weight", "bias"; nullopt = any

  static Expected<RoleSelector> parse(std::string_view text);
  bool matches(const TensorName& name) const;
  std::string to_string() const;
  bool operator==(const RoleSelector&) const = default;
};

// Evidence values are kept with their TOML kind so a recipe round-trips unchanged.
using EvidenceValue = std::variant<std::string, int64_t, double, bool>;
struct EvidenceItem {
  std::string key;
  EvidenceValue value;
  bool operator==(const EvidenceItem&) const = default;
};

struct RecipeRule {
  // Selectors: a tensor must satisfy every one that is present (none = every tensor).
  std::string match;                // ECMAScript regex searched in the tensor name (as llama.cpp)
  std::vector<RoleSelector> roles;  // any of these roles
  std::optional<LayerSet> layers;   // block indices; tensors outside blk.N never match
  // Effects: `type` chooses; `min`/`max` bound the chosen type by bits per weight.
  std::optional<GgmlType> type;
  std::optional<GgmlType> min_type;
  std::optional<GgmlType> max_type;
  Provenance provenance = Provenance::kManual;
  std::string reason;
  std::vector<EvidenceItem> evidence;
  int line = 0;  // 1-based line of the [[rule]] header in the source file; 0 if built in code

  bool is_limit() const { return min_type.has_value() || max_type.has_value(); }
  bool operator==(const RecipeRule& o) const;  // ignores `line`
};

struct Recipe {
  std::string name;
  std::string description;
  std::string base;          // base preset ("Q4_K_M"): decides tensors no rule chooses a type for
  std::string architecture;  // general.architecture of the model it was made for
  int layers = 0;            // block count of that model (0: unknown); ranges refer to it
  std::vector<RecipeRule> rules;

  bool uses_layer_ranges() const;
  bool operator==(const Recipe&) const = default;
};

// Checks what the TOML layer cannot: every rule has an effect, min ≤ max, layer indices lie
// inside `recipe.layers`, regexes compile. Messages read "source:line: rule #N: …" (the
// source and line where known).
Status validate_recipe(const Recipe& recipe, std::string_view source = "");

// "rule #3 (line 20, architecture)" — how messages refer to a rule (index is 0-based).
std::string rule_label(const Recipe& recipe, size_t index);

// "role=ffn_gate,ffn_up layers=12-16 -> q4_K": selectors and effects on one line.
std::string rule_summary(const RecipeRule& rule);

// Type names accepted in rules: any type of the table, by its ggml name, case-insensitively.
Expected<GgmlType> recipe_type_by_name(std::string_view name);
std::string_view type_name(GgmlType type);

// Precision order used by floors and ceilings: bits per weight (F32 > BF16 = F16 > Q8_0 …).
double type_bits(GgmlType type);

}  // namespace qmix
