// Model tensor lists for recipe tests: built in code, read from ../shared preset tables, or
// written as small GGUF files (zero-filled data, real names and types).
#pragma once

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gguf/gguf_writer.h"
#include "recipe/recipe_apply.h"

namespace qmix::test {

// A qwen35-like hybrid of `layers` blocks (every 4th full attention), shaped for any type
// (rows of 256), whose types follow an irregular "UD-like" mix: per-block deviations that no
// preset makes, a first/last-block bump, and two roles that deviate on the same blocks.
inline std::vector<TensorDesc> ud_like_hybrid(int layers) {
  using G = GgmlType;
  std::vector<TensorDesc> t;
  auto add = [&](std::string name, G type, std::vector<int64_t> shape = {256, 4}) {
    t.push_back({std::move(name), type, std::move(shape)});
  };
  add("token_embd.weight", G::Q6_K);
  add("output_norm.weight", G::F32, {256});
  add("output.weight", G::Q8_0);
  for (int b = 0; b < layers; ++b) {
    const std::string p = "blk." + std::to_string(b) + ".";
    const bool full_attention = b % 4 == 3;
    add(p + "attn_norm.weight", G::F32, {256});
    add(p + "post_attention_norm.weight", G::F32, {256});
    if (full_attention) {
      add(p + "attn_q.weight", G::Q4_K);
      add(p + "attn_k.weight", G::Q4_K);
      add(p + "attn_v.weight", b == 7 ? G::Q8_0 : G::Q6_K);
      add(p + "attn_output.weight", G::Q5_K);
    } else {
      add(p + "attn_qkv.weight", (b == 9 || b == 10) ? G::Q6_K : G::Q5_K);
      add(p + "attn_gate.weight", G::Q4_K);
      add(p + "ssm_a", G::F32, {16});
      add(p + "ssm_out.weight", G::Q8_0);
      add(p + "ssm_conv1d.weight", G::F32, {4, 64});
    }
    const bool middle = b >= 12 && b <= 16;
    add(p + "ffn_gate.weight", middle ? G::Q4_K : G::IQ3_XXS);
    add(p + "ffn_up.weight", middle ? G::Q4_K : G::IQ3_XXS);
    const bool edge = b == 0 || b == layers - 1;
    const bool sensitive = b == 2 || b == 5 || b == 11 || b == 17 || b == 23;
    add(p + "ffn_down.weight", edge ? G::Q6_K : sensitive ? G::Q5_K : G::Q4_K);
  }
  return t;
}

inline ModelTensors model_of(std::vector<TensorDesc> tensors, std::string source,
                             std::string arch = "qwen35") {
  ModelTensors m;
  m.source = std::move(source);
  m.architecture = std::move(arch);
  for (const TensorDesc& d : tensors)
    m.layers = std::max(m.layers, parse_tensor_name(d.name).block + 1);
  m.tensors = std::move(tensors);
  return m;
}

// Writes the tensors with zero data, so the file is a valid GGUF of those types.
inline void write_gguf(const std::filesystem::path& path, const ModelTensors& m,
                       std::optional<std::string> embedded_recipe = std::nullopt) {
  GgufWriter w;
  w.set("general.architecture", GgufValue::string(m.architecture));
  w.set(m.architecture + ".block_count", GgufValue::u32(static_cast<uint32_t>(m.layers)));
  if (embedded_recipe) w.set(std::string(kRecipeMetadataKey), GgufValue::string(*embedded_recipe));
  for (const TensorDesc& d : m.tensors)
    if (!w.add_tensor(d.name, d.shape, d.type).ok())
      throw std::runtime_error("add_tensor " + d.name);
  if (!w.begin(path).ok()) throw std::runtime_error("begin " + path.string());
  for (const GgufTensorInfo& info : w.tensors()) {
    std::vector<std::byte> zeros(info.n_bytes);
    if (!w.write_tensor_data(zeros).ok()) throw std::runtime_error("write " + info.name);
  }
  if (!w.finish().ok()) throw std::runtime_error("finish " + path.string());
}

// The per-tensor types of one llama-quantize preset from ../shared/gguf/presets (no shapes).
inline ModelTensors preset_model(const std::filesystem::path& json_path, const std::string& preset,
                                 const std::string& model_name) {
  std::ifstream in(json_path);
  const nlohmann::json j = nlohmann::json::parse(in);
  std::vector<TensorDesc> tensors;
  for (const auto& [name, type] : j.at("presets").at(preset).at("types").items()) {
    auto t = quant_type_by_name(type.get<std::string>());
    if (!t.ok()) throw std::runtime_error("unknown type in " + json_path.string());
    tensors.push_back({name, (*t)->id, {}});
  }
  return model_of(std::move(tensors), model_name + "." + preset);
}

}  // namespace qmix::test
