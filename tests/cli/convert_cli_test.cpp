// `qmix convert` as a user runs it: a summary (or JSON) on success; on bad input one
// "qmix: error:" line, exit code 1, and no output file (not even a temporary one).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "convert/convert_fixtures.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using test::FakeTensor;

Json qwen3_config() {
  return Json{{"architectures", {"Qwen3ForCausalLM"}},
              {"hidden_size", 32},
              {"intermediate_size", 32},
              {"num_attention_heads", 2},
              {"num_key_value_heads", 1},
              {"head_dim", 16},
              {"num_hidden_layers", 1},
              {"rms_norm_eps", 1e-6},
              {"vocab_size", 11}};
}

std::vector<FakeTensor> qwen3_tensors(const std::string& dtype = "BF16") {
  const std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
      {"model.embed_tokens.weight", {11, 32}},
      {"model.layers.0.input_layernorm.weight", {32}},
      {"model.layers.0.mlp.down_proj.weight", {32, 32}},
      {"model.layers.0.mlp.gate_proj.weight", {32, 32}},
      {"model.layers.0.mlp.up_proj.weight", {32, 32}},
      {"model.layers.0.post_attention_layernorm.weight", {32}},
      {"model.layers.0.self_attn.k_norm.weight", {16}},
      {"model.layers.0.self_attn.k_proj.weight", {16, 32}},
      {"model.layers.0.self_attn.o_proj.weight", {32, 32}},
      {"model.layers.0.self_attn.q_norm.weight", {16}},
      {"model.layers.0.self_attn.q_proj.weight", {32, 32}},
      {"model.layers.0.self_attn.v_proj.weight", {16, 32}},
      {"model.norm.weight", {32}}};
  std::vector<FakeTensor> out;
  for (const auto& [name, shape] : shapes)
    out.push_back({name, dtype, shape, test::coded_values(test::element_count(shape))});
  return out;
}

void write_model(const fs::path& dir, const Json& config, const std::vector<FakeTensor>& tensors) {
  fs::create_directories(dir);
  test::write_json(dir / "config.json", config);
  test::write_tokenizer_files(dir);
  test::write_file(dir / "model.safetensors", test::safetensors_bytes(tensors));
}

test::CommandResult run_convert(const fs::path& dir, const fs::path& out,
                                const std::string& extra = "") {
  return test::run_command(test::qmix_binary().string() + " convert '" + dir.string() + "' -o '" +
                           out.string() + "' " + extra);
}

// The failure contract: exit 1, exactly one "qmix: error: …" line, no file in the output dir.
void expect_clean_failure(const test::CommandResult& r, const fs::path& out_dir,
                          const std::string& mention) {
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(r.err.starts_with("qmix: error: ")) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(mention), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_empty(out_dir)) << "output left behind";
}

struct CliFixture : ::testing::Test {
  test::TempDir tmp;
  fs::path model = tmp / "model";
  fs::path out_dir = tmp / "out";
  fs::path out = out_dir / "o.gguf";
  void SetUp() override { fs::create_directories(out_dir); }
};

using ConvertCli = CliFixture;

TEST_F(ConvertCli, ConvertsAndReportsJson) {
  write_model(model, qwen3_config(), qwen3_tensors());
  const auto r = run_convert(model, out, "--outtype q8_0 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json j = Json::parse(r.out);
  EXPECT_EQ(j["architecture"], "qwen3");
  EXPECT_EQ(j["outtype"], "q8_0");
  EXPECT_EQ(j["tensors"], 13);
  EXPECT_EQ(j["pre_tokenizer"], "llama-bpe");
  EXPECT_EQ(j["file_bytes"].get<uint64_t>(), fs::file_size(out));
  EXPECT_EQ(r.err, "");  // no progress bar when stderr is not a terminal
}

TEST_F(ConvertCli, HumanSummary) {
  write_model(model, qwen3_config(), qwen3_tensors());
  const auto r = run_convert(model, out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Qwen3ForCausalLM"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("13 tensors"), std::string::npos) << r.out;
}

TEST_F(ConvertCli, MissingConfig) {
  write_model(model, qwen3_config(), qwen3_tensors());
  fs::remove(model / "config.json");
  expect_clean_failure(run_convert(model, out), out_dir, "config.json");
}

TEST_F(ConvertCli, MissingModelDirectory) {
  expect_clean_failure(run_convert(tmp / "nope", out), out_dir, "nope");
}

TEST_F(ConvertCli, TruncatedSafetensors) {
  write_model(model, qwen3_config(), qwen3_tensors());
  fs::resize_file(model / "model.safetensors", fs::file_size(model / "model.safetensors") - 10);
  expect_clean_failure(run_convert(model, out), out_dir, "model.safetensors");
}

TEST_F(ConvertCli, UnknownArchitecture) {
  Json config = qwen3_config();
  config["architectures"] = {"MambaForCausalLM"};
  write_model(model, config, qwen3_tensors());
  const auto r = run_convert(model, out);
  expect_clean_failure(r, out_dir, "MambaForCausalLM");
  EXPECT_NE(r.err.find("LlamaForCausalLM"), std::string::npos) << r.err;  // lists supported
}

TEST_F(ConvertCli, BadDtype) {
  write_model(model, qwen3_config(), qwen3_tensors("I16"));
  expect_clean_failure(run_convert(model, out), out_dir, "unsupported dtype 'I16'");
}

TEST_F(ConvertCli, BadOuttype) {
  write_model(model, qwen3_config(), qwen3_tensors());
  expect_clean_failure(run_convert(model, out, "--outtype q4_k"), out_dir, "q4_k");
}

TEST_F(ConvertCli, NaNWeights) {
  auto tensors = qwen3_tensors();
  tensors[3].values[5] = NAN;
  write_model(model, qwen3_config(), tensors);
  expect_clean_failure(run_convert(model, out), out_dir, "NaN/Inf");
}

TEST_F(ConvertCli, MissingOutputOption) {
  write_model(model, qwen3_config(), qwen3_tensors());
  const auto r =
      test::run_command(test::qmix_binary().string() + " convert '" + model.string() + "'");
  expect_clean_failure(r, out_dir, "output");
}

}  // namespace
}  // namespace qmix
