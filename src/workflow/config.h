// The workflow's configuration file (TOML; schema and a commented example in docs/workflow.md).
// Paths in it are relative to the file's own directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"

namespace qmix::workflow {

// Which importance matrix a variant is quantized with.
enum class ImatrixChoice { kNone, kGeneric, kDomain };
std::string_view imatrix_choice_name(ImatrixChoice choice);

struct VariantSpec {
  std::string name;    // file-name part and table label: "Q4_K_M-imat"
  std::string preset;  // llama-quantize TYPE: "Q4_K_M"
  ImatrixChoice imatrix = ImatrixChoice::kNone;
  int derive_level = 0;               // > 0: the recipe `recipe derive` makes at this level
  std::filesystem::path recipe_file;  // or a recipe of one's own
  double plan_bpw = 0;                // or > 0: the recipe `qmix plan` makes for this budget
};

struct WorkflowConfig {
  std::filesystem::path config_file;
  std::string name;  // model name in output file names
  std::string title;
  std::filesystem::path output_dir;
  int threads = 0;  // 0: all cores

  // [model]: a Hugging Face directory to convert, or a GGUF to start from.
  std::filesystem::path hf_dir, gguf;
  std::string outtype = "bf16";

  // [calibration]
  std::filesystem::path generic_text, domain_text;
  int64_t calibration_ctx = 512;
  int64_t calibration_chunks = -1;  // -1: every complete chunk

  // [compare]: imatrix compare thresholds and what the recipe patch proposes.
  double demote_below = 0.80, promote_above = 1.10;
  int zones = 8;
  int top = 12;
  std::string demote_type = "Q3_K", promote_type = "Q6_K";

  // [derive]: the base preset whose choices the derived recipes refine, and their levels.
  std::string derive_base = "Q4_K_M";
  int top_n = 8, top_m = 2;

  // [plan]: how the planner mixes the two importance matrices, and the text its per-role
  // sensitivity scales are calibrated on by measured KL-divergence (`qmix plan --measure`);
  // empty: no calibration (docs/plan.md: calibrated plans beat the presets, uncalibrated ones
  // often do not).
  double plan_domain_weight = 1.0, plan_generic_weight = 1.0;
  std::filesystem::path plan_measure_text;
  int64_t plan_measure_ctx = 128, plan_measure_chunks = 8;
  int plan_measure_zones = 5;

  std::vector<VariantSpec> variants;  // [[variant]]

  // [eval]
  std::vector<std::filesystem::path> eval_texts;
  int64_t eval_ctx = 512;
  int64_t eval_chunks = -1;

  // [fit]
  std::string vram = "24GiB";
  std::vector<std::string> kv_types{"f16", "q8_0", "q4_0"};
  std::string fit_variant;  // default: the first variant

  // [report]
  std::string report_variant;  // whose types and recipe the report shows; default: fit_variant

  // The derive levels the variants use, ascending, without repeats.
  std::vector<int> derive_levels() const;
  const VariantSpec* variant(std::string_view name) const;
};

// Errors name the file and the key: unknown tables or keys (typos), wrong kinds, missing
// required entries, duplicate variant names, unknown presets are left to the steps.
Expected<WorkflowConfig> load_workflow_config(const std::filesystem::path& path);
Expected<WorkflowConfig> parse_workflow_config(std::string_view toml_text,
                                               const std::filesystem::path& path);

}  // namespace qmix::workflow
