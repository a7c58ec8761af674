// A small llama-shaped GGUF with random F32 weights, written with GgufWriter: the input of
// quantizer tests that must not depend on ../shared. Header-only (the test binaries that
// include it link the gguf library).
#pragma once

#include <cmath>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "gguf/gguf_writer.h"
#include "testutil/testutil.h"

namespace qmix::test {

struct TinyModel {
  int layers = 2;
  int64_t embd = 256;
  int64_t ffn = 512;
  int64_t vocab = 300;
  std::string nan_in;  // name of a tensor that gets one NaN
};

inline std::vector<std::pair<std::string, std::vector<int64_t>>> tiny_tensor_list(
    const TinyModel& m) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> t = {
      {"token_embd.weight", {m.embd, m.vocab}},
      {"output.weight", {m.embd, m.vocab}},
      {"output_norm.weight", {m.embd}}};
  for (int i = 0; i < m.layers; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    t.push_back({b + "attn_norm.weight", {m.embd}});
    t.push_back({b + "attn_q.weight", {m.embd, m.embd}});
    t.push_back({b + "attn_k.weight", {m.embd, m.embd / 2}});
    t.push_back({b + "attn_v.weight", {m.embd, m.embd / 2}});
    t.push_back({b + "attn_output.weight", {m.embd, m.embd}});
    t.push_back({b + "ffn_norm.weight", {m.embd}});
    t.push_back({b + "ffn_gate.weight", {m.embd, m.ffn}});
    t.push_back({b + "ffn_up.weight", {m.embd, m.ffn}});
    t.push_back({b + "ffn_down.weight", {m.ffn, m.embd}});
  }
  return t;
}

inline void write_tiny_model(const std::filesystem::path& path, const TinyModel& m = {}) {
  GgufWriter w;
  w.set("general.architecture", GgufValue::string("llama"));
  w.set("general.file_type", GgufValue::u32(0));
  w.set("llama.block_count", GgufValue::u32(static_cast<uint32_t>(m.layers)));
  w.set("llama.embedding_length", GgufValue::u32(static_cast<uint32_t>(m.embd)));
  w.set("llama.attention.head_count", GgufValue::u32(4));
  w.set("llama.attention.head_count_kv", GgufValue::u32(2));
  for (const auto& [name, shape] : tiny_tensor_list(m))
    ASSERT_TRUE(w.add_tensor(name, shape, GgmlType::F32).ok());
  ASSERT_TRUE(w.begin(path).ok());
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  for (const auto& t : w.tensors()) {
    std::vector<float> v(t.n_elements);
    for (auto& x : v) x = dist(rng);
    if (t.name == m.nan_in) v[v.size() / 2] = std::nanf("");
    ASSERT_TRUE(w.write_tensor_data(std::as_bytes(std::span<const float>(v))).ok());
  }
  ASSERT_TRUE(w.finish().ok());
}

}  // namespace qmix::test
