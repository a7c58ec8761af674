#include "convert/hf_checkpoint.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/mapped_file.h"

namespace qmix {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

std::string join_keys(std::initializer_list<std::string_view> keys) {
  std::string out;
  for (auto k : keys) {
    if (!out.empty()) out += " / ";
    out += k;
  }
  return out;
}

// Shard names come from an untrusted index: plain file names only, never paths.
bool is_plain_file_name(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos &&
         name.find('\\') == std::string::npos && name != "." && name != "..";
}

Expected<std::vector<std::string>> shards_from_index(const fs::path& index_path,
                                                     std::set<std::string>* indexed_tensors) {
  QMIX_TRY_ASSIGN(const Json index, read_json_file(index_path));
  const auto it = index.find("weight_map");
  if (it == index.end() || !it->is_object())
    return make_error(ErrorCode::kCorrupt, "{}: no \"weight_map\" object", index_path.string());
  std::set<std::string> shards;
  for (const auto& [tensor, shard] : it->items()) {
    if (!shard.is_string() || !is_plain_file_name(shard.get<std::string>()))
      return make_error(ErrorCode::kCorrupt, "{}: tensor '{}' maps to an invalid shard name",
                        index_path.string(), tensor);
    shards.insert(shard.get<std::string>());
    indexed_tensors->insert(tensor);
  }
  return std::vector<std::string>(shards.begin(), shards.end());
}

// Without an index: every model*.safetensors, in name order (llama.cpp's rule).
Expected<std::vector<std::string>> shards_from_directory(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("model") && name.ends_with(".safetensors")) names.push_back(name);
  }
  if (ec) return make_error(ErrorCode::kIo, "{}: cannot list: {}", dir.string(), ec.message());
  if (names.empty())
    return make_error(ErrorCode::kNotFound, "{}: no model.safetensors (or {}) found", dir.string(),
                      HfCheckpoint::kIndexFile);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

Expected<Json> read_json_file(const fs::path& path) {
  QMIX_TRY_ASSIGN(const MappedFile file, MappedFile::open(path));
  const char* text = reinterpret_cast<const char*>(file.bytes().data());
  Json j = Json::parse(text, text + file.size(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error(ErrorCode::kCorrupt, "{}: not valid JSON", path.string());
  return j;
}

Expected<HfConfig> HfConfig::load(const fs::path& config_json) {
  QMIX_TRY_ASSIGN(Json j, read_json_file(config_json));
  if (!j.is_object())
    return make_error(ErrorCode::kCorrupt, "{}: not a JSON object", config_json.string());
  if (const auto it = j.find("text_config"); it != j.end() && it->is_object()) {
    const Json text = *it;
    for (const auto& [k, v] : text.items()) j[k] = v;
  }
  return HfConfig(std::move(j));
}

const Json* HfConfig::find(std::initializer_list<std::string_view> keys) const {
  for (auto key : keys) {
    const auto it = json_.find(std::string(key));
    if (it != json_.end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

Expected<std::optional<int64_t>> HfConfig::get_int(
    std::initializer_list<std::string_view> keys) const {
  const Json* v = find(keys);
  if (v == nullptr) return std::optional<int64_t>();
  if (v->is_number_integer()) return std::optional<int64_t>(v->get<int64_t>());
  // Some configs write integral values as 2048.0.
  if (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() &&
      std::fabs(v->get<double>()) < 9.0e15)
    return std::optional<int64_t>(static_cast<int64_t>(v->get<double>()));
  return make_error(ErrorCode::kInvalidArgument, "config.json: {} must be an integer, got {}",
                    join_keys(keys), v->dump());
}

Expected<std::optional<double>> HfConfig::get_float(
    std::initializer_list<std::string_view> keys) const {
  const Json* v = find(keys);
  if (v == nullptr) return std::optional<double>();
  if (v->is_number()) return std::optional<double>(v->get<double>());
  return make_error(ErrorCode::kInvalidArgument, "config.json: {} must be a number, got {}",
                    join_keys(keys), v->dump());
}

Expected<int64_t> HfConfig::require_int(std::initializer_list<std::string_view> keys) const {
  QMIX_TRY_ASSIGN(const auto v, get_int(keys));
  if (!v)
    return make_error(ErrorCode::kInvalidArgument, "config.json: missing {}", join_keys(keys));
  return *v;
}

Expected<std::string> HfConfig::model_class() const {
  const Json* a = find({"architectures"});
  if (a == nullptr || !a->is_array() || a->empty() || !(*a)[0].is_string())
    return make_error(ErrorCode::kInvalidArgument,
                      "config.json: missing \"architectures\" (the model class)");
  return (*a)[0].get<std::string>();
}

Json HfConfig::rope_parameters() const {
  const Json* p = find({"rope_parameters", "rope_scaling"});
  Json out = (p != nullptr && p->is_object()) ? *p : Json::object();
  if (!out.contains("rope_theta"))
    if (const Json* theta = find({"rope_theta", "rotary_emb_base"}); theta && theta->is_number())
      out["rope_theta"] = *theta;
  if (!out.contains("rope_type") && out.contains("type")) out["rope_type"] = out["type"];
  return out;
}

Expected<HfCheckpoint> HfCheckpoint::open(const fs::path& dir) {
  if (!fs::is_directory(dir))
    return make_error(ErrorCode::kNotFound, "{}: not a model directory", dir.string());
  HfCheckpoint ck;
  ck.dir_ = dir;
  QMIX_TRY_ASSIGN(HfConfig config, HfConfig::load(dir / "config.json"));
  ck.config_ = std::make_unique<HfConfig>(std::move(config));
  std::set<std::string> indexed;
  const fs::path index_path = dir / kIndexFile;
  std::vector<std::string> shards;
  if (fs::exists(index_path)) {
    QMIX_TRY_ASSIGN(shards, shards_from_index(index_path, &indexed));
  } else {
    QMIX_TRY_ASSIGN(shards, shards_from_directory(dir));
  }
  for (const auto& shard : shards) QMIX_TRY(ck.add_shard(dir / shard));
  if (!indexed.empty()) {
    for (const auto& name : indexed)
      if (ck.find(name) == nullptr)
        return make_error(ErrorCode::kNotFound, "{}: tensor '{}' is listed but in no shard",
                          index_path.string(), name);
    for (const auto& t : ck.tensors_)
      if (!indexed.contains(t.tensor->name))
        return make_error(ErrorCode::kCorrupt, "{}: tensor '{}' of {} is not listed",
                          index_path.string(), t.tensor->name, t.file->name());
  }
  return ck;
}

Status HfCheckpoint::add_shard(const fs::path& path) {
  auto file = SafetensorsFile::open(path);
  if (!file.ok()) return file.error();
  shards_.push_back(std::make_unique<SafetensorsFile>(std::move(file).value()));
  const SafetensorsFile* shard = shards_.back().get();
  for (const auto& t : shard->tensors()) {
    if (!index_.emplace(t.name, tensors_.size()).second)
      return make_error(ErrorCode::kCorrupt, "tensor '{}' appears in more than one shard ({})",
                        t.name, shard->name());
    tensors_.push_back({&t, shard});
  }
  return ok_status();
}

const HfTensorRef* HfCheckpoint::find(std::string_view name) const {
  const auto it = index_.find(std::string(name));
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace qmix
