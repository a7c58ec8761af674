#include "workflow/state.h"

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/mapped_file.h"

namespace qmix::workflow {

namespace fs = std::filesystem;
using nlohmann::json;

std::map<std::string, FileFingerprint> WorkflowState::known_files() const {
  std::map<std::string, FileFingerprint> files;
  for (const auto& [id, record] : steps) {
    for (const auto& [path, f] : record.inputs) files[path] = f;
    for (const auto& [path, f] : record.outputs) files[path] = f;
  }
  return files;
}

namespace {

json files_json(const std::map<std::string, FileFingerprint>& files) {
  json j = json::object();
  for (const auto& [path, f] : files)
    j[path] = {{"hash", f.hash}, {"size", f.size}, {"mtime_ns", f.mtime_ns}};
  return j;
}

std::map<std::string, FileFingerprint> files_from(const json& j) {
  std::map<std::string, FileFingerprint> files;
  for (const auto& [path, f] : j.items())
    files[path] = {f.at("hash").get<std::string>(), f.at("size").get<uint64_t>(),
                   f.at("mtime_ns").get<int64_t>()};
  return files;
}

Expected<WorkflowState> state_from(const json& j) {
  if (!j.is_object() || j.value("schema", "") != kStateSchema)
    return make_error(ErrorCode::kCorrupt, "not a {} document", kStateSchema);
  WorkflowState state;
  for (const auto& [id, s] : j.at("steps").items()) {
    StepRecord r;
    r.params_hash = s.at("params").get<std::string>();
    r.inputs = files_from(s.at("inputs"));
    r.outputs = files_from(s.at("outputs"));
    r.seconds = s.value("seconds", 0.0);
    state.steps[id] = std::move(r);
  }
  return state;
}

}  // namespace

Expected<WorkflowState> load_state(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return WorkflowState{};
  QMIX_TRY_ASSIGN(const MappedFile file, MappedFile::open(path));
  const auto bytes = file.bytes();
  const json j = json::parse(reinterpret_cast<const char*>(bytes.data()),
                             reinterpret_cast<const char*>(bytes.data()) + bytes.size(), nullptr,
                             /*allow_exceptions=*/false);
  if (j.is_discarded())
    return make_error(ErrorCode::kCorrupt, "{}: not valid JSON (delete it to start afresh)",
                      path.string());
  try {
    auto state = state_from(j);
    if (!state.ok()) return state.error().with_context(path.string());
    return state;
  } catch (const json::exception& e) {
    return make_error(ErrorCode::kCorrupt, "{}: unexpected content ({}); delete it to start afresh",
                      path.string(), e.what());
  }
}

Status save_state(const WorkflowState& state, const fs::path& path) {
  json steps = json::object();
  for (const auto& [id, r] : state.steps)
    steps[id] = {{"params", r.params_hash},
                 {"inputs", files_json(r.inputs)},
                 {"outputs", files_json(r.outputs)},
                 {"seconds", r.seconds}};
  const std::string text = json{{"schema", kStateSchema}, {"steps", steps}}.dump(1) + "\n";
  QMIX_TRY_ASSIGN(AtomicFile out, AtomicFile::create(path));
  QMIX_TRY(out.write(std::as_bytes(std::span(text.data(), text.size()))));
  return out.commit();
}

}  // namespace qmix::workflow
