// `qmix recipe derive`: a base recipe refined by how tensor importance moves between a domain
// corpus and a generic one (imatrix/compare.h), in three levels (docs/recipe.md, "derive"):
//   1. tensors whose ratio is below the demote threshold go one ladder step down from the type
//      the base gives them, those above the promote threshold one step up (type_ladder.h);
//      with the model's sizes, the level is balanced: while the promotions cost more bytes than
//      the demotions save, the next-lowest-ratio tensors (ratio < 1) are demoted one step too,
//      and if those run out the lowest-ratio promotions are dropped; while the demotions save
//      more, the next-highest-ratio tensors (ratio > 1) are promoted as long as the total
//      stays at or below zero;
//   2. also the top-N tensors by ratio (ratio > 1) get at least Q8_0;
//   3. also the first top-M of those get F16.
// Each change is one `data` rule (exact tensor name, reason, evidence) appended to the base's
// rules, which are kept unchanged. A tensor whose new type an architecture floor or ceiling
// (min/max) would refuse is left as the base has it.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "imatrix/compare.h"
#include "recipe/diff.h"
#include "recipe/recipe.h"
#include "recipe/recipe_apply.h"

namespace qmix {

// Level 1 with tensor sizes known (DeriveOptions::sizes): kNeutral pairs the promotions with
// demotions so the level costs no bytes, or as near as the ladder allows (docs/recipe.md).
enum class DeriveBalance { kNeutral, kFree };

struct DeriveOptions {
  int level = 1;
  const ModelTensors* sizes = nullptr;  // the model's tensors with shapes; null: no balancing
  DeriveBalance balance = DeriveBalance::kNeutral;
  int top_n = 8;  // level ≥ 2: tensors raised to Q8_0
  int top_m = 2;  // level 3: tensors raised to F16 (the first of the top-N ranking)
  std::string domain_name, generic_name;  // recorded in each rule's evidence
};

struct DerivedChange {
  std::string tensor;
  GgmlType from = GgmlType::F32;
  GgmlType to = GgmlType::F32;
  int level = 1;           // the level whose step decided `to`
  bool balancing = false;  // a level-1 change made to pay for (or use) the others' bytes
};

struct DeriveResult {
  Recipe recipe;
  std::vector<DerivedChange> changes;             // one per appended rule, in rule order
  std::vector<std::string> held_by_architecture;  // would change, but an architecture limit holds
  std::vector<std::string> uncovered;             // the base gives these tensors no type
  // Level 1's change in bytes on DeriveOptions::sizes (0 without sizes).
  int64_t level1_bytes = 0;
};

// Errors: level outside 1..3, negative counts, a base recipe that does not validate.
Expected<DeriveResult> derive_recipe(const Recipe& base, const ImatrixComparison& comparison,
                                     const DeriveOptions& options);

// The recipe resolved against a model: each tensor with the type it would get (tensors nothing
// decides keep the model's type), for sizes and bits per weight (diff.h TableSize).
Expected<std::vector<TensorDesc>> resolved_table(const Recipe& recipe, const ModelTensors& model);

// Total size of a resolved table.
TableSize table_size(const std::vector<TensorDesc>& table);

}  // namespace qmix
