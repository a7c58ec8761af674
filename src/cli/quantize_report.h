// Output of `qmix quantize`: the plan as a table or JSON (--dry-run), the preset list, and the
// closing summary of a real run.
#pragma once

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "recipe/tensor_plan.h"

namespace qmix::cli {

// Human-readable plan: one line per tensor, then totals and the type histogram.
void print_plan_table(std::FILE* out, const QuantPlan& plan);
// The plan as JSON: {"preset", "file_type", "tensors": [{"name", "shape", "source_type", "type",
// "step", "reason", "provenance", "bytes", …}], "totals": {…}, "histogram": {…},
// "unused_rules": […], "needs_imatrix"}.
nlohmann::ordered_json plan_to_json(const QuantPlan& plan);

void print_preset_table(std::FILE* out);
nlohmann::ordered_json presets_to_json();

// "Q4_K_M: 12.6 MiB -> 4.0 MiB, 5.03 bpw (8 tensors kept, 1 fell back)".
std::string plan_summary(const QuantPlan& plan);

}  // namespace qmix::cli
