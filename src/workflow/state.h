// The workflow's state file (JSON in the output directory): for every step that completed,
// the hash of its parameters and the fingerprints of the files it read and wrote. A rerun
// compares the present files and parameters with these records to decide what is up to date.
//
//   {"schema": "qmix.workflow-state/1",
//    "steps": {"convert": {"params": "9f…", "inputs": {"path": {"hash": "…", "size": N,
//              "mtime_ns": T}}, "outputs": {…}, "seconds": 1.5}}}
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "core/error.h"
#include "workflow/file_hash.h"

namespace qmix::workflow {

inline constexpr std::string_view kStateSchema = "qmix.workflow-state/1";

struct StepRecord {
  std::string params_hash;
  // By path relative to the state file's directory (so the working directory a run starts in
  // does not matter).
  std::map<std::string, FileFingerprint> inputs;
  std::map<std::string, FileFingerprint> outputs;
  double seconds = 0;
};

struct WorkflowState {
  std::map<std::string, StepRecord> steps;  // by step id

  // Every fingerprint recorded, by path (seeds the FileHasher).
  std::map<std::string, FileFingerprint> known_files() const;
};

// A missing file is an empty state (first run); a file of the wrong shape is an error.
Expected<WorkflowState> load_state(const std::filesystem::path& path);
// Written atomically: an interrupted save leaves the previous state.
Status save_state(const WorkflowState& state, const std::filesystem::path& path);

}  // namespace qmix::workflow
