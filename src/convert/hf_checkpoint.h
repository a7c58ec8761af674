// A Hugging Face model directory: config.json (hyper-parameters) and the safetensors weights,
// either one file or shards listed by model.safetensors.index.json. Weights stay memory-mapped;
// nothing is read until a tensor's bytes are asked for.
#pragma once

#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "convert/safetensors.h"
#include "core/error.h"

namespace qmix {

// Reads a JSON file (objects keep their key order); errors name the file.
Expected<nlohmann::ordered_json> read_json_file(const std::filesystem::path& path);

// config.json with a nested "text_config" lifted to the top level (multimodal wrappers), as
// llama.cpp's converter does. Lookups take several spellings and use the first one present;
// JSON null counts as absent.
class HfConfig {
 public:
  static Expected<HfConfig> load(const std::filesystem::path& config_json);
  explicit HfConfig(nlohmann::ordered_json json) : json_(std::move(json)) {}

  const nlohmann::ordered_json& json() const { return json_; }
  const nlohmann::ordered_json* find(std::initializer_list<std::string_view> keys) const;
  // Typed lookups: nullopt when absent, an error when present with the wrong type.
  Expected<std::optional<int64_t>> get_int(std::initializer_list<std::string_view> keys) const;
  Expected<std::optional<double>> get_float(std::initializer_list<std::string_view> keys) const;
  Expected<int64_t> require_int(std::initializer_list<std::string_view> keys) const;
  // "architectures"[0]: the Hugging Face model class.
  Expected<std::string> model_class() const;
  // rope_parameters (transformers ≥ 5) or rope_scaling, with a top-level rope_theta folded in.
  nlohmann::ordered_json rope_parameters() const;

 private:
  nlohmann::ordered_json json_;
};

struct HfTensorRef {
  const SafetensorsTensor* tensor = nullptr;
  const SafetensorsFile* file = nullptr;
};

class HfCheckpoint {
 public:
  static constexpr std::string_view kIndexFile = "model.safetensors.index.json";

  static Expected<HfCheckpoint> open(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  const HfConfig& config() const { return *config_; }
  // Shards in name order, each in header order: the order llama.cpp's converter writes in.
  const std::vector<HfTensorRef>& tensors() const { return tensors_; }
  const HfTensorRef* find(std::string_view name) const;
  size_t shard_count() const { return shards_.size(); }

 private:
  Status add_shard(const std::filesystem::path& path);

  std::filesystem::path dir_;
  std::unique_ptr<HfConfig> config_;
  std::vector<std::unique_ptr<SafetensorsFile>> shards_;  // stable addresses for HfTensorRef
  std::vector<HfTensorRef> tensors_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace qmix
