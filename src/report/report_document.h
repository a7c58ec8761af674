// The qmix report: one self-contained HTML file (inline CSS and SVG; no scripts, no network)
// built from the JSON documents the other commands and the workflow write. Every source is
// optional; each present one adds its sections (anchors in parentheses):
//   inspect --json          type histogram, bits per block                        (#model)
//   imatrix compare --json  ratio heat map block × kind, zone chart, top-N table  (#importance)
//   a recipe (TOML)         its rules with provenance, reason and evidence        (#recipe)
//   compare --json          per text: variants table, Pareto plots bpw vs KLD and
//                           bpw vs PPL, paired tests with significance            (#variants-N)
//   fit --json              largest context per KV-cache type                     (#fit)
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace qmix::report {

struct ReportSources {
  std::string title = "qmix report";
  std::optional<nlohmann::json> inspect, imatrix_compare, compare, fit;
  std::optional<std::string> recipe_toml;  // the recipe file's text
  std::string recipe_name;                 // shown in its heading
  int top_tensors = 12;                    // rows of the top-N table
};

// Errors: a JSON document of the wrong shape (kCorrupt, naming what was expected).
Expected<std::string> render_report(const ReportSources& sources);
// render_report, then an atomic write to `output`.
Status write_report(const ReportSources& sources, const std::filesystem::path& output);

// A JSON file read whole (errors name the file).
Expected<nlohmann::json> read_json_file(const std::filesystem::path& path);
Expected<std::string> read_text_file(const std::filesystem::path& path);

}  // namespace qmix::report
