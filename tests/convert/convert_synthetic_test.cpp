// Conversions of small checkpoints written by the tests: layout transforms checked against
// independent re-statements of llama.cpp's rules, output types, sharding, and bad input.
#include <gtest/gtest.h>

#include <cmath>

#include "convert/convert_fixtures.h"
#include "convert/converter.h"
#include "gguf/gguf_file.h"
#include "quant/quantize_rows.h"

namespace qmix {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using test::FakeTensor;

constexpr int64_t kHidden = 64, kHeads = 4, kKvHeads = 2, kHeadDim = 16, kVocab = 11;

Json llama_config() {
  return Json{{"architectures", {"LlamaForCausalLM"}},
              {"hidden_size", kHidden},
              {"intermediate_size", 64},
              {"num_attention_heads", kHeads},
              {"num_key_value_heads", kKvHeads},
              {"head_dim", kHeadDim},
              {"num_hidden_layers", 1},
              {"max_position_embeddings", 128},
              {"rms_norm_eps", 1e-5},
              {"rope_theta", 500000.0},
              {"vocab_size", kVocab},
              {"bos_token_id", 9},
              {"eos_token_id", 10}};
}

FakeTensor fake(std::string name, std::vector<int64_t> shape, const std::string& dtype) {
  const int64_t n = test::element_count(shape);
  return FakeTensor{std::move(name), dtype, std::move(shape), test::coded_values(n)};
}

// Checkpoint tensors in the sorted order safetensors writers use.
std::vector<FakeTensor> llama_tensors(const std::string& dtype) {
  const std::string l = "model.layers.0.";
  return {fake("lm_head.weight", {kVocab, kHidden}, dtype),
          fake("model.embed_tokens.weight", {kVocab, kHidden}, dtype),
          fake(l + "input_layernorm.weight", {kHidden}, dtype),
          fake(l + "mlp.down_proj.weight", {kHidden, 64}, dtype),
          fake(l + "mlp.gate_proj.weight", {64, kHidden}, dtype),
          fake(l + "mlp.up_proj.weight", {64, kHidden}, dtype),
          fake(l + "post_attention_layernorm.weight", {kHidden}, dtype),
          fake(l + "self_attn.k_proj.weight", {kKvHeads * kHeadDim, kHidden}, dtype),
          fake(l + "self_attn.o_proj.weight", {kHidden, kHeads * kHeadDim}, dtype),
          fake(l + "self_attn.q_proj.weight", {kHeads * kHeadDim, kHidden}, dtype),
          fake(l + "self_attn.v_proj.weight", {kKvHeads * kHeadDim, kHidden}, dtype),
          fake("model.norm.weight", {kHidden}, dtype)};
}

void write_model(const fs::path& dir, const Json& config, const std::vector<FakeTensor>& tensors) {
  fs::create_directories(dir);
  test::write_json(dir / "config.json", config);
  test::write_tokenizer_files(dir);
  test::write_file(dir / "model.safetensors", test::safetensors_bytes(tensors));
}

Expected<ConvertReport> convert(const fs::path& dir, const fs::path& out, std::string outtype) {
  ConvertOptions o;
  o.outtype = std::move(outtype);
  o.threads = 2;
  return convert_model(dir, out, o);
}

std::vector<float> values_of(const GgufFile& f, const std::string& name) {
  const GgufTensorInfo* t = f.find_tensor(name);
  if (t == nullptr) {
    ADD_FAILURE() << "no tensor " << name;
    return {};
  }
  std::vector<float> out(t->n_elements);
  const Status s =
      dequantize_rows(t->quant_type(), f.tensor_data(*t), t->n_rows(), t->row_length(), out);
  EXPECT_TRUE(s.ok());
  return out;
}

const FakeTensor& source(const std::vector<FakeTensor>& tensors, const std::string& name) {
  for (const auto& t : tensors)
    if (t.name == name) return t;
  throw std::runtime_error("no source " + name);
}

// llama.cpp's permute, restated: reshape rows to (heads, 2, rows/heads/2), swap axes 1 and 2.
std::vector<float> rope_permuted(const std::vector<float>& w, int64_t heads, int64_t cols) {
  const int64_t rows = static_cast<int64_t>(w.size()) / cols, half = rows / heads / 2;
  std::vector<float> out(w.size());
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t a = 0; a < half; ++a)
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t c = 0; c < cols; ++c)
          out[static_cast<size_t>(((h * half + a) * 2 + b) * cols + c)] =
              w[static_cast<size_t>(((h * 2 + b) * half + a) * cols + c)];
  return out;
}

TEST(ConvertSynthetic, LlamaTensorsNamesShapesAndRopePermutation) {
  test::TempDir tmp;
  const auto tensors = llama_tensors("F32");
  write_model(tmp / "m", llama_config(), tensors);
  auto r = convert(tmp / "m", tmp / "out.gguf", "f32");
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto f = GgufFile::open(tmp / "out.gguf");
  ASSERT_TRUE(f.ok()) << f.error().message;
  std::vector<std::string> names;
  for (const auto& t : f->tensors()) names.push_back(t.name);
  const std::vector<std::string> expected = {
      "output.weight",         "token_embd.weight",     "blk.0.attn_norm.weight",
      "blk.0.ffn_down.weight", "blk.0.ffn_gate.weight", "blk.0.ffn_up.weight",
      "blk.0.ffn_norm.weight", "blk.0.attn_k.weight",   "blk.0.attn_output.weight",
      "blk.0.attn_q.weight",   "blk.0.attn_v.weight",   "output_norm.weight"};
  EXPECT_EQ(names, expected);
  EXPECT_EQ(f->find_tensor("blk.0.attn_k.weight")->shape, (std::vector<int64_t>{kHidden, 32}));
  const std::string l = "model.layers.0.self_attn.";
  EXPECT_EQ(values_of(*f, "blk.0.attn_q.weight"),
            rope_permuted(source(tensors, l + "q_proj.weight").values, kHeads, kHidden));
  EXPECT_EQ(values_of(*f, "blk.0.attn_k.weight"),
            rope_permuted(source(tensors, l + "k_proj.weight").values, kKvHeads, kHidden));
  EXPECT_EQ(values_of(*f, "blk.0.attn_v.weight"), source(tensors, l + "v_proj.weight").values);
  EXPECT_EQ(values_of(*f, "output.weight"), source(tensors, "lm_head.weight").values);
  EXPECT_EQ(r->n_tensors, 12u);
}

TEST(ConvertSynthetic, LlamaMetadataFromConfigAndTokenizer) {
  test::TempDir tmp;
  write_model(tmp / "my-model-v2", llama_config(), llama_tensors("BF16"));
  auto r = convert(tmp / "my-model-v2", tmp / "out.gguf", "auto");
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto f = GgufFile::open(tmp / "out.gguf");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f->get_string("general.architecture"), "llama");
  EXPECT_EQ(*f->get_string("general.name"), "My Model v2");
  EXPECT_EQ(*f->get_int("general.file_type"), 32);  // auto → bf16 for a bf16 checkpoint
  EXPECT_EQ(*f->get_int("llama.block_count"), 1);
  EXPECT_EQ(*f->get_int("llama.context_length"), 128);
  EXPECT_EQ(*f->get_int("llama.attention.head_count_kv"), kKvHeads);
  EXPECT_EQ(*f->get_int("llama.attention.key_length"), kHeadDim);
  EXPECT_EQ(*f->get_int("llama.rope.dimension_count"), kHeadDim);
  EXPECT_EQ(*f->get_int("llama.vocab_size"), kVocab);
  EXPECT_FLOAT_EQ(static_cast<float>(*f->get_float("llama.rope.freq_base")), 500000.0f);
  EXPECT_FLOAT_EQ(static_cast<float>(*f->get_float("llama.attention.layer_norm_rms_epsilon")),
                  1e-5f);
  EXPECT_EQ(*f->get_string("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(*f->get_string("tokenizer.ggml.pre"), "llama-bpe");
  const auto* tokens = f->find("tokenizer.ggml.tokens")->as_string_array();
  ASSERT_EQ(tokens->size(), static_cast<size_t>(kVocab));
  EXPECT_EQ((*tokens)[8], "[PAD8]");
  EXPECT_EQ((*tokens)[9], "<|begin_of_text|>");
  const auto types = *f->find("tokenizer.ggml.token_type")->as_int_array();
  EXPECT_EQ(types[0], 1);
  EXPECT_EQ(types[8], 5);
  EXPECT_EQ(types[9], 3);
  EXPECT_EQ(*f->find("tokenizer.ggml.merges")->as_string_array(), std::vector<std::string>{"a b"});
  EXPECT_EQ(*f->get_int("tokenizer.ggml.bos_token_id"), 9);
  EXPECT_EQ(*f->get_int("tokenizer.ggml.eos_token_id"), 10);
  EXPECT_EQ(f->find("tokenizer.ggml.add_bos_token")->as_bool(), true);
  EXPECT_EQ(f->find("tokenizer.chat_template"), nullptr);
}

// Each --outtype gives the requested type to matrices (llama.cpp's encoding of the same f32
// values) and keeps norms in F32.
TEST(ConvertSynthetic, OutTypesEncodeMatricesAndKeepNormsF32) {
  test::TempDir tmp;
  const auto tensors = llama_tensors("F32");
  write_model(tmp / "m", llama_config(), tensors);
  const auto& w = source(tensors, "model.layers.0.mlp.up_proj.weight").values;
  for (const OutType& ot : out_types()) {
    SCOPED_TRACE(std::string(ot.name));
    const fs::path out = tmp / (std::string(ot.name) + ".gguf");
    auto r = convert(tmp / "m", out, std::string(ot.name));
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto f = GgufFile::open(out);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(*f->get_int("general.file_type"), ot.file_type);
    EXPECT_EQ(f->find_tensor("blk.0.ffn_norm.weight")->type, GgmlType::F32);
    const GgufTensorInfo* up = f->find_tensor("blk.0.ffn_up.weight");
    ASSERT_EQ(up->type, ot.type);
    const QuantType& q = quant_type(ot.type);
    std::vector<std::byte> expected(up->n_bytes);
    QuantizeOptions qo;
    qo.algorithm = QuantAlgorithm::kReference;
    ASSERT_TRUE(quantize_rows(q, w, 64, kHidden, {}, expected, qo).ok());
    const auto got = f->tensor_data(*up);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), expected.begin(), expected.end()));
  }
}

TEST(ConvertSynthetic, AutoOuttypeFollowsTheCheckpoint) {
  const std::pair<const char*, GgmlType> cases[] = {
      {"BF16", GgmlType::BF16}, {"F16", GgmlType::F16}, {"F32", GgmlType::F16}};
  for (const auto& [dtype, type] : cases) {
    test::TempDir tmp;
    write_model(tmp / "m", llama_config(), llama_tensors(dtype));
    auto r = convert(tmp / "m", tmp / "o.gguf", "auto");
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto f = GgufFile::open(tmp / "o.gguf");
    EXPECT_EQ(f->find_tensor("token_embd.weight")->type, type) << dtype;
  }
}

TEST(ConvertSynthetic, ShardedCheckpointEqualsSingleFile) {
  test::TempDir tmp;
  const auto tensors = llama_tensors("BF16");
  write_model(tmp / "single", llama_config(), tensors);
  write_model(tmp / "sharded", llama_config(), {});
  fs::remove(tmp / "sharded/model.safetensors");
  const std::vector<FakeTensor> first(tensors.begin(), tensors.begin() + 5);
  const std::vector<FakeTensor> second(tensors.begin() + 5, tensors.end());
  test::write_file(tmp / "sharded/model-00001-of-00002.safetensors",
                   test::safetensors_bytes(first));
  test::write_file(tmp / "sharded/model-00002-of-00002.safetensors",
                   test::safetensors_bytes(second));
  Json map = Json::object();
  for (const auto& t : first) map[t.name] = "model-00001-of-00002.safetensors";
  for (const auto& t : second) map[t.name] = "model-00002-of-00002.safetensors";
  test::write_json(tmp / "sharded/model.safetensors.index.json", {{"weight_map", map}});
  // Same directory name, so general.name agrees too.
  fs::rename(tmp / "single", tmp / "a");
  fs::create_directories(tmp / "b");
  fs::rename(tmp / "sharded", tmp / "b/a");
  ASSERT_TRUE(convert(tmp / "a", tmp / "one.gguf", "bf16").ok());
  auto r = convert(tmp / "b/a", tmp / "two.gguf", "bf16");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(test::read_bytes(tmp / "one.gguf"), test::read_bytes(tmp / "two.gguf"));
}

TEST(ConvertSynthetic, ShardIndexProblemsAreErrors) {
  test::TempDir tmp;
  const auto tensors = llama_tensors("BF16");
  write_model(tmp / "m", llama_config(), tensors);
  fs::rename(tmp / "m/model.safetensors", tmp / "m/model-00001-of-00001.safetensors");
  Json map = Json::object();
  for (const auto& t : tensors) map[t.name] = "model-00001-of-00001.safetensors";
  map["extra.weight"] = "model-00002-of-00002.safetensors";
  test::write_json(tmp / "m/model.safetensors.index.json", {{"weight_map", map}});
  auto r = convert(tmp / "m", tmp / "o.gguf", "bf16");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("model-00002-of-00002.safetensors"), std::string::npos);
  map.erase("extra.weight");
  map.erase("lm_head.weight");
  test::write_json(tmp / "m/model.safetensors.index.json", {{"weight_map", map}});
  r = convert(tmp / "m", tmp / "o.gguf", "bf16");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("lm_head.weight"), std::string::npos);
  map["../../etc/passwd"] = "../secret.safetensors";
  test::write_json(tmp / "m/model.safetensors.index.json", {{"weight_map", map}});
  EXPECT_FALSE(convert(tmp / "m", tmp / "o.gguf", "bf16").ok());
  EXPECT_FALSE(fs::exists(tmp / "o.gguf"));
}

TEST(ConvertSynthetic, NonFiniteWeightsAreCountedAndNamed) {
  test::TempDir tmp;
  auto tensors = llama_tensors("BF16");
  for (auto& t : tensors)
    if (t.name == "model.layers.0.self_attn.o_proj.weight") {
      t.values[3] = NAN;
      t.values[100] = INFINITY;
      t.values[200] = -INFINITY;
    }
  write_model(tmp / "m", llama_config(), tensors);
  auto r = convert(tmp / "m", tmp / "o.gguf", "bf16");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kBadData);
  EXPECT_NE(r.error().message.find("3 NaN/Inf"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("blk.0.attn_output.weight"), std::string::npos);
  EXPECT_NE(r.error().message.find("o_proj"), std::string::npos);
  EXPECT_FALSE(fs::exists(tmp / "o.gguf"));
}

TEST(ConvertSynthetic, UnmappedTensorsAndBadConfigsAreErrors) {
  test::TempDir tmp;
  auto tensors = llama_tensors("BF16");
  tensors.push_back(fake("model.layers.0.self_attn.rotary_emb.inv_freq", {8}, "F32"));  // ignored
  write_model(tmp / "ok", llama_config(), tensors);
  EXPECT_TRUE(convert(tmp / "ok", tmp / "ok.gguf", "bf16").ok());

  tensors.push_back(fake("model.layers.0.mystery.weight", {4}, "BF16"));
  write_model(tmp / "extra", llama_config(), tensors);
  auto r = convert(tmp / "extra", tmp / "o.gguf", "bf16");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("model.layers.0.mystery.weight"), std::string::npos);

  Json config = llama_config();
  config["architectures"] = {"GPTBigCodeForCausalLM"};
  write_model(tmp / "arch", config, llama_tensors("BF16"));
  r = convert(tmp / "arch", tmp / "o.gguf", "bf16");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("Qwen3MoeForCausalLM"), std::string::npos);

  config = llama_config();
  config.erase("num_hidden_layers");
  write_model(tmp / "layers", config, llama_tensors("BF16"));
  r = convert(tmp / "layers", tmp / "o.gguf", "bf16");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("num_hidden_layers"), std::string::npos);

  config = llama_config();
  config["vocab_size"] = kVocab + 1;  // the embedding has kVocab rows
  write_model(tmp / "vocab", config, llama_tensors("BF16"));
  r = convert(tmp / "vocab", tmp / "o.gguf", "bf16");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("does not match config.json"), std::string::npos)
      << r.error().message;

  config = llama_config();
  config["num_experts"] = int64_t{1} << 40;
  write_model(tmp / "experts", config, llama_tensors("BF16"));
  EXPECT_FALSE(convert(tmp / "experts", tmp / "o.gguf", "bf16").ok());

  config = llama_config();
  config["num_attention_heads"] = 3;  // 64 q rows do not split into 3 heads
  write_model(tmp / "heads", config, llama_tensors("BF16"));
  EXPECT_FALSE(convert(tmp / "heads", tmp / "o.gguf", "bf16").ok());
  EXPECT_FALSE(convert(tmp / "ok", tmp / "o.gguf", "q4_k").ok());
  EXPECT_FALSE(fs::exists(tmp / "o.gguf"));
}

TEST(ConvertSynthetic, OutputMayNotReplaceAnInput) {
  test::TempDir tmp;
  write_model(tmp / "m", llama_config(), llama_tensors("BF16"));
  const auto before = test::read_bytes(tmp / "m/model.safetensors");
  auto r = convert(tmp / "m", tmp / "m/model.safetensors", "bf16");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(test::read_bytes(tmp / "m/model.safetensors"), before);
}

}  // namespace
}  // namespace qmix
