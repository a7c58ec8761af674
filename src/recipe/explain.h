// `qmix recipe explain`: for every tensor, the rule that decided its type and why, with the
// floors and ceilings that moved it; the conflicts and gaps of the whole resolution.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "recipe/recipe_apply.h"

namespace qmix {

struct ExplainRow {
  std::string tensor;
  std::optional<GgmlType> type;  // nullopt: no rule and no base decided it
  int rule = -1;                 // deciding rule (-1: the base preset or nothing)
  std::string decided_by;        // "rule #4 (line 30, data)", "base preset Q4_K_M", "nothing"
  std::string reason;            // the deciding rule's reason
  std::string adjustment;        // "raised from q4_K by rule #1 (line 2, architecture)" or ""
  bool conflict = false;         // the adjustment crossed provenance (see docs/recipe.md)
};

// `base_reasons` (empty, or one per tensor) says why the base preset chose what it chose.
std::vector<ExplainRow> explain_resolution(const Recipe& recipe,
                                           std::span<const TensorDesc> tensors,
                                           const Resolution& res,
                                           std::span<const std::string> base_reasons = {});

// The text `qmix recipe explain` prints: an aligned table, then the conflicts, the rules that
// match nothing and the tensors nothing covers.
std::string format_explain(const Recipe& recipe, std::span<const TensorDesc> tensors,
                           const Resolution& res, std::span<const std::string> base_reasons = {});

}  // namespace qmix
