// Qwen3-MoE expert stacking and the Qwen3.5 hybrid's transforms on small synthetic
// checkpoints, each checked against a direct re-statement of what llama.cpp's converter does.
#include <gtest/gtest.h>

#include <cmath>

#include "convert/convert_fixtures.h"
#include "convert/converter.h"
#include "convert/tensor_plan.h"
#include "gguf/gguf_file.h"
#include "quant/quantize_rows.h"

namespace qmix {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using test::FakeTensor;

FakeTensor fake(std::string name, std::vector<int64_t> shape, const std::string& dtype,
                float scale = 1.0f / 64) {
  const int64_t n = test::element_count(shape);
  return FakeTensor{std::move(name), dtype, std::move(shape), test::coded_values(n, scale)};
}

void write_model(const fs::path& dir, const Json& config, const std::vector<FakeTensor>& tensors) {
  fs::create_directories(dir);
  test::write_json(dir / "config.json", config);
  test::write_tokenizer_files(dir);
  test::write_file(dir / "model.safetensors", test::safetensors_bytes(tensors));
}

Expected<GgufFile> convert_and_open(const fs::path& dir, const fs::path& out,
                                    const std::string& outtype) {
  ConvertOptions o;
  o.outtype = outtype;
  auto r = convert_model(dir, out, o);
  if (!r.ok()) return r.error();
  return GgufFile::open(out);
}

std::vector<float> values_of(const GgufFile& f, const std::string& name) {
  const GgufTensorInfo* t = f.find_tensor(name);
  if (t == nullptr) {
    ADD_FAILURE() << "no tensor " << name;
    return {};
  }
  std::vector<float> out(t->n_elements);
  EXPECT_TRUE(
      dequantize_rows(t->quant_type(), f.tensor_data(*t), t->n_rows(), t->row_length(), out).ok());
  return out;
}

const std::vector<float>& source(const std::vector<FakeTensor>& tensors, const std::string& name) {
  for (const auto& t : tensors)
    if (t.name == name) return t.values;
  throw std::runtime_error("no source " + name);
}

// ---- Qwen3-MoE ----------------------------------------------------------------------------

Json moe_config() {
  return Json{{"architectures", {"Qwen3MoeForCausalLM"}},
              {"hidden_size", 64},
              {"intermediate_size", 64},
              {"moe_intermediate_size", 32},
              {"num_experts", 4},
              {"num_experts_per_tok", 2},
              {"num_attention_heads", 4},
              {"num_key_value_heads", 2},
              {"head_dim", 16},
              {"num_hidden_layers", 1},
              {"rms_norm_eps", 1e-6},
              {"vocab_size", 11}};
}

std::vector<FakeTensor> moe_tensors() {
  const std::string l = "model.layers.0.";
  std::vector<FakeTensor> t = {fake("model.embed_tokens.weight", {11, 64}, "BF16"),
                               fake(l + "input_layernorm.weight", {64}, "BF16")};
  for (int e = 0; e < 4; ++e) {
    const std::string x = l + "mlp.experts." + std::to_string(e) + ".";
    // A different power-of-two scale per expert and projection: distinct, bf16-exact values.
    t.push_back(fake(x + "down_proj.weight", {64, 32}, "BF16", std::ldexp(1.0f, -6 - e)));
    t.push_back(fake(x + "gate_proj.weight", {32, 64}, "BF16", std::ldexp(1.0f, -10 - e)));
    t.push_back(fake(x + "up_proj.weight", {32, 64}, "BF16", std::ldexp(1.0f, -14 - e)));
  }
  for (auto& x : {fake(l + "mlp.gate.weight", {4, 64}, "BF16"),
                  fake(l + "post_attention_layernorm.weight", {64}, "BF16"),
                  fake(l + "self_attn.k_norm.weight", {16}, "BF16"),
                  fake(l + "self_attn.k_proj.weight", {32, 64}, "BF16"),
                  fake(l + "self_attn.o_proj.weight", {64, 64}, "BF16"),
                  fake(l + "self_attn.q_norm.weight", {16}, "BF16"),
                  fake(l + "self_attn.q_proj.weight", {64, 64}, "BF16"),
                  fake(l + "self_attn.v_proj.weight", {32, 64}, "BF16"),
                  fake("model.norm.weight", {64}, "BF16")})
    t.push_back(x);
  return t;
}

TEST(ConvertTransforms, MoeExpertsStackIntoOneTensorPerProjection) {
  test::TempDir tmp;
  const auto tensors = moe_tensors();
  write_model(tmp / "m", moe_config(), tensors);
  auto f = convert_and_open(tmp / "m", tmp / "o.gguf", "bf16");
  ASSERT_TRUE(f.ok()) << f.error().message;
  // Emitted when the last expert arrives, in llama.cpp's order, before the router.
  std::vector<std::string> names;
  for (const auto& t : f->tensors()) names.push_back(t.name);
  EXPECT_EQ(names[2], "blk.0.ffn_down_exps.weight");
  EXPECT_EQ(names[3], "blk.0.ffn_gate_exps.weight");
  EXPECT_EQ(names[4], "blk.0.ffn_up_exps.weight");
  EXPECT_EQ(names[5], "blk.0.ffn_gate_inp.weight");
  EXPECT_EQ(f->find_tensor("blk.0.ffn_down_exps.weight")->shape, (std::vector<int64_t>{32, 64, 4}));
  EXPECT_EQ(f->find_tensor("blk.0.ffn_up_exps.weight")->shape, (std::vector<int64_t>{64, 32, 4}));
  EXPECT_EQ(f->find_tensor("blk.0.ffn_gate_inp.weight")->type, GgmlType::F32);
  for (const char* proj : {"down", "gate", "up"}) {
    std::vector<float> stacked;
    for (int e = 0; e < 4; ++e) {
      const auto& v = source(
          tensors, "model.layers.0.mlp.experts." + std::to_string(e) + "." + proj + "_proj.weight");
      stacked.insert(stacked.end(), v.begin(), v.end());
    }
    EXPECT_EQ(values_of(*f, std::string("blk.0.ffn_") + proj + "_exps.weight"), stacked) << proj;
  }
  EXPECT_EQ(*f->get_int("qwen3moe.expert_count"), 4);
  EXPECT_EQ(*f->get_int("qwen3moe.expert_used_count"), 2);
  EXPECT_EQ(*f->get_int("qwen3moe.expert_feed_forward_length"), 32);
  EXPECT_EQ(f->get_string_or("general.size_label", "").substr(0, 2), "4x");
}

TEST(ConvertTransforms, MissingExpertIsAnError) {
  test::TempDir tmp;
  auto tensors = moe_tensors();
  std::erase_if(tensors, [](const FakeTensor& t) {
    return t.name == "model.layers.0.mlp.experts.2.up_proj.weight";
  });
  write_model(tmp / "m", moe_config(), tensors);
  auto f = convert_and_open(tmp / "m", tmp / "o.gguf", "bf16");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("expert"), std::string::npos) << f.error().message;
  EXPECT_FALSE(fs::exists(tmp / "o.gguf"));
}

// ---- Qwen3.5 hybrid -----------------------------------------------------------------------

constexpr int64_t kKHeads = 2, kVHeads = 4, kHeadK = 16, kHeadV = 16;

Json qwen35_config() {
  return Json{{"architectures", {"Qwen3_5ForCausalLM"}},
              {"hidden_size", 64},
              {"intermediate_size", 64},
              {"num_attention_heads", 4},
              {"num_key_value_heads", 2},
              {"head_dim", 16},
              {"num_hidden_layers", 1},
              {"full_attention_interval", 4},
              {"linear_conv_kernel_dim", 4},
              {"linear_key_head_dim", kHeadK},
              {"linear_num_key_heads", kKHeads},
              {"linear_num_value_heads", kVHeads},
              {"linear_value_head_dim", kHeadV},
              {"partial_rotary_factor", 0.25},
              {"rms_norm_eps", 1e-6},
              {"rope_parameters", {{"rope_theta", 10000.0}, {"mrope_section", {2, 1, 1}}}},
              {"vocab_size", 11}};
}

std::vector<FakeTensor> qwen35_tensors(const std::string& dtype) {
  const std::string l = "model.layers.0.", a = l + "linear_attn.";
  const int64_t qkv = 2 * kKHeads * kHeadK + kVHeads * kHeadV;
  return {fake("model.embed_tokens.weight", {11, 64}, dtype),
          fake(l + "input_layernorm.weight", {64}, dtype),
          fake(a + "A_log", {kVHeads}, dtype),
          fake(a + "conv1d.weight", {qkv, 1, 4}, dtype),
          fake(a + "dt_bias", {kVHeads}, dtype),
          fake(a + "in_proj_a.weight", {kVHeads, 64}, dtype),
          fake(a + "in_proj_b.weight", {kVHeads, 64}, dtype),
          fake(a + "in_proj_qkv.weight", {qkv, 64}, dtype),
          fake(a + "in_proj_z.weight", {kVHeads * kHeadV, 64}, dtype),
          fake(a + "norm.weight", {kHeadV}, dtype),
          fake(a + "out_proj.weight", {64, kVHeads * kHeadV}, dtype),
          fake(l + "mlp.down_proj.weight", {64, 64}, dtype),
          fake(l + "mlp.gate_proj.weight", {64, 64}, dtype),
          fake(l + "mlp.up_proj.weight", {64, 64}, dtype),
          fake(l + "post_attention_layernorm.weight", {64}, dtype),
          fake("model.norm.weight", {64}, dtype),
          fake("mtp.fc.weight", {64, 128}, dtype)};
}

// llama.cpp's _reorder_v_heads restated: rows after `offset` viewed as (k, v/k, head, cols),
// the first two axes swapped.
std::vector<float> tiled_rows(const std::vector<float>& w, int64_t offset, int64_t head,
                              int64_t cols) {
  std::vector<float> out = w;
  const int64_t per_k = kVHeads / kKHeads;
  for (int64_t a = 0; a < kKHeads; ++a)
    for (int64_t b = 0; b < per_k; ++b)
      for (int64_t d = 0; d < head; ++d)
        for (int64_t c = 0; c < cols; ++c)
          out[static_cast<size_t>((offset + (b * kKHeads + a) * head + d) * cols + c)] =
              w[static_cast<size_t>((offset + (a * per_k + b) * head + d) * cols + c)];
  return out;
}

std::vector<float> tiled_cols(const std::vector<float>& w, int64_t rows, int64_t head) {
  const int64_t cols = kVHeads * head;
  std::vector<float> transposed(w.size()), out(w.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) transposed[c * rows + r] = w[r * cols + c];
  const auto t = tiled_rows(transposed, 0, head, rows);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = t[c * rows + r];
  return out;
}

std::vector<float> plus_one(std::vector<float> v) {
  for (auto& x : v) x += 1.0f;
  return v;
}

TEST(ConvertTransforms, Qwen35DeltaNetTensorsFollowLlamaCpp) {
  test::TempDir tmp;
  const auto t = qwen35_tensors("F32");
  write_model(tmp / "m", qwen35_config(), t);
  auto f = convert_and_open(tmp / "m", tmp / "o.gguf", "f32");
  ASSERT_TRUE(f.ok()) << f.error().message;
  const std::string a = "model.layers.0.linear_attn.";
  const int64_t qk = 2 * kKHeads * kHeadK;
  std::vector<float> neg_exp = tiled_rows(source(t, a + "A_log"), 0, 1, 1);
  for (auto& x : neg_exp) x = -std::exp(x);
  EXPECT_EQ(values_of(*f, "blk.0.ssm_a"), neg_exp);
  EXPECT_EQ(values_of(*f, "blk.0.ssm_dt.bias"), tiled_rows(source(t, a + "dt_bias"), 0, 1, 1));
  EXPECT_EQ(f->find_tensor("blk.0.ssm_conv1d.weight")->shape, (std::vector<int64_t>{4, qk + 64}));
  EXPECT_EQ(values_of(*f, "blk.0.ssm_conv1d.weight"),
            tiled_rows(source(t, a + "conv1d.weight"), qk, kHeadV, 4));
  EXPECT_EQ(values_of(*f, "blk.0.attn_qkv.weight"),
            tiled_rows(source(t, a + "in_proj_qkv.weight"), qk, kHeadV, 64));
  EXPECT_EQ(values_of(*f, "blk.0.attn_gate.weight"),
            tiled_rows(source(t, a + "in_proj_z.weight"), 0, kHeadV, 64));
  EXPECT_EQ(values_of(*f, "blk.0.ssm_alpha.weight"),
            tiled_rows(source(t, a + "in_proj_a.weight"), 0, 1, 64));
  EXPECT_EQ(values_of(*f, "blk.0.ssm_beta.weight"),
            tiled_rows(source(t, a + "in_proj_b.weight"), 0, 1, 64));
  EXPECT_EQ(values_of(*f, "blk.0.ssm_out.weight"),
            tiled_cols(source(t, a + "out_proj.weight"), 64, kHeadV));
  // RMSNorm weights are stored centered (+1), except the delta net's own norm.
  EXPECT_EQ(values_of(*f, "blk.0.ssm_norm.weight"), source(t, a + "norm.weight"));
  EXPECT_EQ(values_of(*f, "blk.0.attn_norm.weight"),
            plus_one(source(t, "model.layers.0.input_layernorm.weight")));
  EXPECT_EQ(values_of(*f, "blk.0.post_attention_norm.weight"),
            plus_one(source(t, "model.layers.0.post_attention_layernorm.weight")));
  EXPECT_EQ(values_of(*f, "output_norm.weight"), plus_one(source(t, "model.norm.weight")));
  EXPECT_EQ(f->find_tensor("mtp.fc.weight"), nullptr);
  EXPECT_EQ(f->tensors().size(), 16u);
}

TEST(ConvertTransforms, Qwen35Metadata) {
  test::TempDir tmp;
  write_model(tmp / "m", qwen35_config(), qwen35_tensors("BF16"));
  auto f = convert_and_open(tmp / "m", tmp / "o.gguf", "bf16");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(*f->get_int("qwen35.ssm.conv_kernel"), 4);
  EXPECT_EQ(*f->get_int("qwen35.ssm.state_size"), kHeadK);
  EXPECT_EQ(*f->get_int("qwen35.ssm.group_count"), kKHeads);
  EXPECT_EQ(*f->get_int("qwen35.ssm.time_step_rank"), kVHeads);
  EXPECT_EQ(*f->get_int("qwen35.ssm.inner_size"), kVHeads * kHeadV);
  EXPECT_EQ(*f->get_int("qwen35.full_attention_interval"), 4);
  EXPECT_EQ(*f->get_int("qwen35.rope.dimension_count"), 4);  // 16 × 0.25
  EXPECT_EQ(*f->find("qwen35.rope.dimension_sections")->as_int_array(),
            (std::vector<int64_t>{2, 1, 1, 0}));
  // Types: 1-D and conv weights F32, projections in the requested type.
  EXPECT_EQ(f->find_tensor("blk.0.ssm_conv1d.weight")->type, GgmlType::F32);
  EXPECT_EQ(f->find_tensor("blk.0.ssm_a")->type, GgmlType::F32);
  EXPECT_EQ(f->find_tensor("blk.0.ssm_alpha.weight")->type, GgmlType::BF16);
}

// llama.cpp transforms F16 checkpoints in half precision: 1 + 2^-12 rounds to 1 in f16.
TEST(ConvertTransforms, F16SourcesAreTransformedInHalfPrecision) {
  test::TempDir tmp;
  auto t = qwen35_tensors("F16");
  for (auto& x : t)
    if (x.name == "model.norm.weight") x.values.assign(64, std::ldexp(1.0f, -12));
  write_model(tmp / "m", qwen35_config(), t);
  auto f = convert_and_open(tmp / "m", tmp / "o.gguf", "f16");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(values_of(*f, "output_norm.weight"), std::vector<float>(64, 1.0f));
}

TEST(ConvertTransforms, PermutationMapsArePermutations) {
  for (auto [rows, heads] : {std::pair{64, 4}, std::pair{128, 2}, std::pair{6, 3}}) {
    auto m = rope_row_map(rows, heads);
    std::sort(m.begin(), m.end());
    for (int i = 0; i < rows; ++i) ASSERT_EQ(m[i], i);
  }
  auto v = vhead_map(40, 8, 2, 8);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(v[i], i);
  std::sort(v.begin(), v.end());
  for (int i = 0; i < 40; ++i) ASSERT_EQ(v[i], i);
}

}  // namespace
}  // namespace qmix
