// The qmix method as workflow steps (docs/workflow.md, docs/tutorial.md):
//
//   convert            HF directory → GGUF (skipped when the config names a GGUF)
//   imatrix.generic    importance on generic text
//   imatrix.domain     importance on the model's own domain text
//   imatrix.compare    domain / generic ratios (JSON, text) and a recipe patch of candidates
//   recipe.base        the base preset's choices on this model, extracted as a recipe
//   recipe.derive      the base refined from the comparison, one recipe per level in use
//   recipe.plan.NAME   `qmix plan`'s recipe for a variant's bpw budget (both imatrices mixed)
//   quantize.NAME      one per [[variant]]: preset, imatrix and recipe
//   evaluate           every variant against the base on every text (PPL, KLD, paired tests)
//   fit                context that fits the VRAM budget, per KV-cache type
//   inspect            types and bits per block of the report's variant
//   report             the self-contained HTML report
//
// Every step calls the library (convert, imatrix, recipe, eval, report); none spawns a process.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "workflow/config.h"
#include "workflow/runner.h"

namespace qmix::workflow {

// Where each step writes, under the output directory.
struct WorkflowPaths {
  std::filesystem::path state;
  std::filesystem::path base_model;  // converted, or the configured GGUF
  std::filesystem::path generic_imatrix, domain_imatrix;
  std::filesystem::path imatrix_compare_json, imatrix_compare_text, recipe_patch;
  std::filesystem::path base_recipe;
  std::map<int, std::filesystem::path> derived_recipes;          // by level
  std::map<std::string, std::filesystem::path> planned_recipes;  // by variant name
  std::map<std::string, std::filesystem::path> variants;         // by variant name
  std::filesystem::path compare_json, summary;
  std::filesystem::path fit_json, inspect_json, report;

  // The recipe file a variant is quantized with ("" for none).
  std::filesystem::path recipe_of(const VariantSpec& v) const;
};

WorkflowPaths workflow_paths(const WorkflowConfig& config);

std::vector<Step> method_steps(const WorkflowConfig& config);

}  // namespace qmix::workflow
