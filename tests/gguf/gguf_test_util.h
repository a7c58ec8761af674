// Builds small GGUF images in memory for tests.
#pragma once

#include <random>
#include <vector>

#include "gguf/gguf_writer.h"
#include "testutil/testutil.h"

namespace qmix::test {

// A writer with a few KVs of every kind and three tensors (f32, f16, q8_0).
inline GgufWriter sample_writer() {
  GgufWriter w;
  w.set("general.architecture", GgufValue::string("llama"));
  w.set("general.name", GgufValue::string("sample"));
  w.set("llama.block_count", GgufValue::u32(2));
  w.set("llama.rope.freq_base", GgufValue::f32(10000.0f));
  w.set("test.i64", GgufValue::i64(-5));
  w.set("test.bool", GgufValue::boolean(true));
  w.set("tokenizer.ggml.tokens", GgufValue::array_strings({"a", "b", "<s>"}));
  w.set("tokenizer.ggml.token_type", GgufValue::array_i32({1, 1, 3}));
  (void)w.add_tensor("token_embd.weight", {32, 3}, GgmlType::F32);
  (void)w.add_tensor("blk.0.attn_norm.weight", {32}, GgmlType::F16);
  (void)w.add_tensor("blk.0.ffn_up.weight", {64, 2}, GgmlType::Q8_0);
  return w;
}

inline std::vector<std::vector<std::byte>> random_tensor_data(const GgufWriter& w, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<std::byte>> out;
  for (const auto& t : w.tensors()) {
    std::vector<std::byte> d(t.n_bytes);
    for (auto& b : d) b = static_cast<std::byte>(rng() & 0xff);
    out.push_back(std::move(d));
  }
  return out;
}

// Writes a writer + data to a file and returns the file's bytes.
inline std::vector<std::byte> write_to(GgufWriter& w,
                                       const std::vector<std::vector<std::byte>>& data,
                                       const std::filesystem::path& path) {
  EXPECT_TRUE(w.begin(path).ok());
  for (const auto& d : data) EXPECT_TRUE(w.write_tensor_data(d).ok());
  EXPECT_TRUE(w.finish().ok());
  return read_bytes(path);
}

}  // namespace qmix::test
