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

struct TinyShard {
  size_t first = 0, last = 0;  // tensors [first, last) of tiny_tensor_list
  int no = 0, count = 1;       // split.no / split.count when count > 1
};

// One file of the model: the metadata (first shard only, as llama.cpp's splits), split keys
// when split, and the shard's tensors with random values.
inline void write_tiny_file(const std::filesystem::path& path, const TinyModel& m,
                            const TinyShard& shard) {
  const auto list = tiny_tensor_list(m);
  GgufWriter w;
  if (shard.no == 0) {
    w.set("general.architecture", GgufValue::string("llama"));
    w.set("general.file_type", GgufValue::u32(0));
    w.set("llama.block_count", GgufValue::u32(static_cast<uint32_t>(m.layers)));
    w.set("llama.embedding_length", GgufValue::u32(static_cast<uint32_t>(m.embd)));
    w.set("llama.attention.head_count", GgufValue::u32(4));
    w.set("llama.attention.head_count_kv", GgufValue::u32(2));
  }
  if (shard.count > 1) {
    w.set("split.no", GgufValue::u16(static_cast<uint16_t>(shard.no)));
    w.set("split.count", GgufValue::u16(static_cast<uint16_t>(shard.count)));
    w.set("split.tensors.count", GgufValue::i32(static_cast<int32_t>(list.size())));
  }
  for (size_t i = shard.first; i < shard.last; ++i)
    ASSERT_TRUE(w.add_tensor(list[i].first, list[i].second, GgmlType::F32).ok());
  ASSERT_TRUE(w.begin(path).ok());
  std::mt19937 rng(static_cast<uint32_t>(1 + shard.no));
  std::normal_distribution<float> dist(0.0f, 0.02f);
  for (const auto& t : w.tensors()) {
    std::vector<float> v(t.n_elements);
    for (auto& x : v) x = dist(rng);
    if (t.name == m.nan_in) v[v.size() / 2] = std::nanf("");
    ASSERT_TRUE(w.write_tensor_data(std::as_bytes(std::span<const float>(v))).ok());
  }
  ASSERT_TRUE(w.finish().ok());
}

inline void write_tiny_model(const std::filesystem::path& path, const TinyModel& m = {}) {
  write_tiny_file(path, m, {0, tiny_tensor_list(m).size(), 0, 1});
}

// The model as two shards "<prefix>-00001-of-00002.gguf" and "…-00002-of-00002.gguf" (the
// second holds the last blocks); returns the first shard's path.
inline std::filesystem::path write_tiny_split_model(const std::string& prefix,
                                                    const TinyModel& m = {}) {
  const size_t n = tiny_tensor_list(m).size();
  const auto first = prefix + "-00001-of-00002.gguf";
  write_tiny_file(first, m, {0, n / 2, 0, 2});
  write_tiny_file(prefix + "-00002-of-00002.gguf", m, {n / 2, n, 1, 2});
  return first;
}

}  // namespace qmix::test
