// Text tables and JSON for `qmix imatrix stats|compare` (the CLI prints what these return).
// JSON keys are stable; numbers that are undefined (no data) are null.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "imatrix/compare.h"
#include "imatrix/stats.h"

namespace qmix {

std::string stats_text(const ImatrixStats& stats, const Imatrix& imatrix);
nlohmann::json stats_json(const ImatrixStats& stats, const Imatrix& imatrix);

struct CompareRender {
  int top = 12;  // rows of the domain file's top list
  double demote_below = 0.80, promote_above = 1.10;
};
std::string comparison_text(const ImatrixComparison& c, const CompareRender& options);
nlohmann::json comparison_json(const ImatrixComparison& c, const CompareRender& options);

}  // namespace qmix
