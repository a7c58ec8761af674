// Builders for small Hugging Face model directories written by the tests themselves:
// safetensors files (F32/F16/BF16), config.json, tokenizer.json and friends.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/fp16.h"
#include "testutil/testutil.h"

namespace qmix::test {

struct FakeTensor {
  std::string name;
  std::string dtype;  // "F32", "F16", "BF16" or anything else (written with 2-byte elements)
  std::vector<int64_t> shape;
  std::vector<float> values;  // n = product of shape
};

inline int64_t element_count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// Deterministic, distinct values exactly representable in bf16 (and so in f16 and f32).
inline std::vector<float> coded_values(int64_t n, float scale = 1.0f / 64) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = static_cast<float>((i * 37) % 251 - 125) * scale;
  return v;
}

inline void append_encoded(std::vector<std::byte>& out, const FakeTensor& t) {
  for (float f : t.values) {
    if (t.dtype == "F32") {
      const auto* p = reinterpret_cast<const std::byte*>(&f);
      out.insert(out.end(), p, p + 4);
      continue;
    }
    const uint16_t h = t.dtype == "F16" ? fp32_to_fp16(f) : fp32_to_bf16(f);
    const auto* p = reinterpret_cast<const std::byte*>(&h);
    out.insert(out.end(), p, p + 2);
  }
}

inline std::vector<std::byte> safetensors_bytes(const std::vector<FakeTensor>& tensors) {
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}};
  std::vector<std::byte> data;
  for (const auto& t : tensors) {
    const size_t begin = data.size();
    append_encoded(data, t);
    header[t.name] = {
        {"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
  }
  const std::string text = header.dump();
  std::vector<std::byte> out(8);
  const uint64_t len = text.size();
  std::memcpy(out.data(), &len, 8);
  for (char c : text) out.push_back(static_cast<std::byte>(c));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

inline void write_file(const std::filesystem::path& path, const std::vector<std::byte>& bytes) {
  write_bytes(path, bytes.data(), bytes.size());
}

inline void write_json(const std::filesystem::path& path, const nlohmann::ordered_json& j) {
  std::ofstream(path) << j.dump(2);
}

// A byte-level BPE tokenizer with the Llama-3 pre-tokenizer: 8 base tokens, one merge, and
// BOS/EOS added tokens at ids 9 and 10 (id 8 is left unused).
inline nlohmann::ordered_json tiny_tokenizer_json() {
  using Json = nlohmann::ordered_json;
  Json vocab = Json::object();
  const char* pieces[] = {"a", "b", "c", "\xC4\xA0", "ab", "d", "e", "f"};
  for (int i = 0; i < 8; ++i) vocab[pieces[i]] = i;
  const std::string llama3 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  Json split = {{"type", "Split"},
                {"pattern", {{"Regex", llama3}}},
                {"behavior", "Isolated"},
                {"invert", false}};
  Json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}};
  return Json{{"version", "1.0"},
              {"added_tokens",
               Json::array({Json{{"id", 9}, {"content", "<|begin_of_text|>"}, {"special", true}},
                            Json{{"id", 10}, {"content", "<|end_of_text|>"}, {"special", true}}})},
              {"normalizer", nullptr},
              {"pre_tokenizer",
               {{"type", "Sequence"}, {"pretokenizers", Json::array({split, byte_level})}}},
              {"post_processor",
               {{"type", "TemplateProcessing"},
                {"single", Json::array({Json{{"SpecialToken", {{"id", "<|begin_of_text|>"}}}},
                                        Json{{"Sequence", {{"id", "A"}}}}})}}},
              {"decoder", {{"type", "ByteLevel"}}},
              {"model",
               {{"type", "BPE"},
                {"byte_fallback", false},
                {"vocab", vocab},
                {"merges", Json::array({Json::array({"a", "b"})})}}}};
}

inline void write_tokenizer_files(const std::filesystem::path& dir) {
  write_json(dir / "tokenizer.json", tiny_tokenizer_json());
  write_json(dir / "tokenizer_config.json",
             {{"bos_token", "<|begin_of_text|>"}, {"eos_token", "<|end_of_text|>"}});
}

}  // namespace qmix::test
