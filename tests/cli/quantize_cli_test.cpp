// `qmix quantize` end to end on a small generated model: the output re-reads with the planned
// types and decodes close to the input; bad input gives one error line, exit 1, no output file,
// and leaves the input untouched.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "quant/quantize_rows.h"
#include "testutil/testutil.h"
#include "testutil/tiny_gguf.h"

namespace qmix {
namespace {

using test::TinyModel;
using test::write_tiny_model;

test::CommandResult qmix(const std::string& args) {
  return test::run_command(test::qmix_binary().string() + " quantize " + args);
}

class QuantizeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    input_ = dir_ / "in.gguf";
    write_tiny_model(input_, {});
    input_bytes_ = test::read_bytes(input_);
  }
  void TearDown() override {
    EXPECT_EQ(test::read_bytes(input_), input_bytes_) << "the input must never change";
  }
  // Failing runs: one "qmix: error:" line, exit 1, nothing left in the directory but the input.
  void expect_clean_failure(const test::CommandResult& r, std::string_view mentions) {
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_TRUE(r.err.starts_with("qmix: error: ")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(mentions), std::string::npos) << r.err;
    for (const auto& e : std::filesystem::directory_iterator(dir_.path()))
      EXPECT_EQ(e.path().filename(), "in.gguf") << "left behind: " << e.path();
  }

  test::TempDir dir_;
  std::filesystem::path input_;
  std::vector<std::byte> input_bytes_;
};

TEST_F(QuantizeCli, Q8_0OutputRereadsWithPlannedTypesAndDecodesClose) {
  const auto out = dir_ / "out.gguf";
  const auto r = qmix(input_.string() + " " + out.string() + " Q8_0 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto f = GgufFile::open(out);
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(*f->get_int("general.file_type"), 7);
  EXPECT_EQ(*f->get_int("general.quantization_version"), 2);
  EXPECT_EQ(f->find("quantize.imatrix.file"), nullptr);
  auto in = GgufFile::open(input_);
  ASSERT_TRUE(in.ok());
  ASSERT_EQ(f->tensors().size(), in->tensors().size());
  EXPECT_EQ(f->tensors()[0].name, "output.weight") << "llama.cpp's order";
  for (const auto& t : f->tensors()) {
    const bool one_dim = t.shape.size() == 1;
    EXPECT_EQ(t.type, one_dim ? GgmlType::F32 : GgmlType::Q8_0) << t.name;
    const auto* src = in->find_tensor(t.name);
    ASSERT_NE(src, nullptr);
    std::vector<float> decoded(t.n_elements);
    ASSERT_TRUE(
        dequantize_rows(t.quant_type(), f->tensor_data(t), t.n_rows(), t.row_length(), decoded)
            .ok());
    const auto* orig = reinterpret_cast<const float*>(in->tensor_data(*src).data());
    double max_err = 0;
    for (size_t i = 0; i < decoded.size(); ++i)
      max_err = std::max(max_err, std::fabs(static_cast<double>(decoded[i] - orig[i])));
    // Q8_0: |error| <= scale/2 with scale = max|x|/127; weights here are below 0.2.
    EXPECT_LT(max_err, one_dim ? 1e-12 : 0.2 / 127) << t.name;
  }
}

TEST_F(QuantizeCli, MixedPresetFollowsThePlanAndDryRunWritesNothing) {
  const auto r = qmix("--dry-run --json " + input_.string() + " Q4_0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto plan = nlohmann::json::parse(r.out);
  EXPECT_EQ(plan.at("preset"), "Q4_0");
  std::map<std::string, std::string> planned;
  for (const auto& t : plan.at("tensors")) planned[t.at("name")] = t.at("type");
  EXPECT_EQ(planned.at("output.weight"), "q6_K");
  EXPECT_EQ(planned.at("blk.0.attn_q.weight"), "q4_0");
  EXPECT_EQ(planned.at("blk.0.attn_norm.weight"), "f32");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_.path()), {}), 1);

  const auto table = qmix("--dry-run " + input_.string() + " Q4_0");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("blk.1.ffn_down.weight"), std::string::npos);
  EXPECT_NE(table.out.find("bpw"), std::string::npos);

  // The real run writes what the dry run planned (same flags). The output matrix goes to Q8_0
  // so that the run needs only the legacy kernels.
  const std::string args = "--output-tensor-type q8_0 " + input_.string();
  const auto again = qmix("--dry-run --json " + args + " Q4_0");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  planned.clear();
  const auto again_plan = nlohmann::json::parse(again.out);
  for (const auto& t : again_plan.at("tensors")) planned[t.at("name")] = t.at("type");
  const auto out = dir_ / "q4_0.gguf";
  const auto run = qmix(args + " " + out.string() + " Q4_0");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto f = GgufFile::open(out);
  ASSERT_TRUE(f.ok());
  for (const auto& t : f->tensors())
    EXPECT_EQ(quant_type(t.type).name, planned.at(t.name)) << t.name;
  EXPECT_EQ(planned.at("output.weight"), "q8_0");
  std::filesystem::remove(out);
}

TEST_F(QuantizeCli, TensorTypeRulesAndListPresets) {
  const auto r = qmix(
      "--dry-run --json --tensor-type 'FFN_(UP|GATE)=q8_0' --tensor-type "
      "nomatch=q4_0 " +
      input_.string() + " Q4_0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: --tensor-type nomatch=q4_0 matches no tensor"), std::string::npos)
      << r.err;
  const auto plan = nlohmann::json::parse(r.out);
  for (const auto& t : plan.at("tensors")) {
    const std::string name = t.at("name");
    if (name.find("ffn_up") != std::string::npos || name.find("ffn_gate") != std::string::npos) {
      EXPECT_EQ(t.at("type"), "q8_0") << name;
      EXPECT_EQ(t.at("step"), "rule");
      EXPECT_EQ(t.at("provenance"), "manual");
    }
  }
  const auto list = qmix("--list-presets");
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_NE(list.out.find("Q4_K_M"), std::string::npos);
  EXPECT_NE(list.out.find("MXFP4_MOE"), std::string::npos);
}

TEST_F(QuantizeCli, KeepSplitMirrorsTheInputShards) {
  test::TempDir split_dir;
  const auto first = test::write_tiny_split_model((split_dir / "m").string());
  const auto out = split_dir / "q.gguf";
  const auto r = qmix("--keep-split " + first.string() + " " + out.string() + " Q8_0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("q-00001-of-00002.gguf"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(split_dir / "q-00002-of-00002.gguf"));
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST_F(QuantizeCli, MissingInputFile) {
  expect_clean_failure(
      qmix((dir_ / "nope.gguf").string() + " " + (dir_ / "o.gguf").string() + " Q8_0"),
      "nope.gguf");
}

TEST_F(QuantizeCli, UnknownTypeListsTheValidOnes) {
  expect_clean_failure(qmix(input_.string() + " " + (dir_ / "o.gguf").string() + " Q4_K_X"),
                       "Q4_K_M");
  expect_clean_failure(qmix("--tensor-type attn_v=q9_9 " + input_.string() + " " +
                            (dir_ / "o.gguf").string() + " Q8_0"),
                       "q9_9");
}

TEST_F(QuantizeCli, BadRegexNamesTheRule) {
  expect_clean_failure(qmix("--tensor-type 'attn_[v=q8_0' " + input_.string() + " " +
                            (dir_ / "o.gguf").string() + " Q8_0"),
                       "attn_[v=q8_0");
}

TEST_F(QuantizeCli, NanWeightsFailWithoutOutput) {
  const auto bad = dir_ / "nan.gguf";
  write_tiny_model(bad, {.nan_in = "blk.1.ffn_up.weight"});
  const auto r = qmix(bad.string() + " " + (dir_ / "o.gguf").string() + " Q8_0");
  std::filesystem::remove(bad);
  expect_clean_failure(r, "blk.1.ffn_up.weight");
  EXPECT_NE(r.err.find("non-finite"), std::string::npos) << r.err;
}

TEST_F(QuantizeCli, CorruptInputAndMissingOutputDirectory) {
  const auto bad = dir_ / "truncated.gguf";
  const auto head = std::span(input_bytes_).first(1000);
  test::write_bytes(bad, head.data(), head.size());
  const auto r = qmix(bad.string() + " " + (dir_ / "o.gguf").string() + " Q8_0");
  std::filesystem::remove(bad);
  expect_clean_failure(r, "truncated.gguf");
  expect_clean_failure(
      qmix(input_.string() + " " + (dir_ / "no/such/dir/o.gguf").string() + " Q8_0"),
      "no/such/dir");
}

TEST_F(QuantizeCli, InterruptLeavesNothingBehind) {
  // Big enough to take seconds at Q4_K_M, so that the interrupt comes mid-run.
  const auto big = dir_ / "big.gguf";
  write_tiny_model(big, {.layers = 4, .embd = 1024, .ffn = 4096, .vocab = 4096, .nan_in = ""});
  const auto out = dir_ / "o.gguf";
  const auto r = test::run_command(
      fmt::format("({} quantize {} {} Q4_K_M 2 & pid=$!; sleep 1; kill -INT $pid; wait $pid; "
                  "echo rc=$?)",
                  test::qmix_binary().string(), big.string(), out.string()));
  std::filesystem::remove(big);
  EXPECT_NE(r.out.find("rc="), std::string::npos);
  EXPECT_EQ(r.out.find("rc=0"), std::string::npos) << "finished before the interrupt?";
  for (const auto& e : std::filesystem::directory_iterator(dir_.path()))
    EXPECT_EQ(e.path().filename(), "in.gguf") << "left behind: " << e.path();
}

TEST_F(QuantizeCli, OutputEqualToInputIsRefused) {
  expect_clean_failure(qmix(input_.string() + " " + input_.string() + " Q8_0"), "input");
}

TEST_F(QuantizeCli, VeryLowBitPresetsNeedAnImatrix) {
  expect_clean_failure(qmix(input_.string() + " " + (dir_ / "o.gguf").string() + " IQ2_XXS"),
                       "needs an importance matrix");
}

TEST_F(QuantizeCli, RequantizingNeedsPermission) {
  const auto q8 = dir_ / "q8.gguf";
  ASSERT_EQ(qmix(input_.string() + " " + q8.string() + " Q8_0").exit_code, 0);
  const auto out = dir_ / "again.gguf";
  const auto refused = qmix(q8.string() + " " + out.string() + " Q4_0");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("--allow-requantize"), std::string::npos) << refused.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  const auto allowed = qmix("--allow-requantize --output-tensor-type q8_0 " + q8.string() + " " +
                            out.string() + " Q4_0");
  EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
  EXPECT_NE(allowed.err.find("warning"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(out));
  std::filesystem::remove(q8);
  std::filesystem::remove(out);
}

TEST_F(QuantizeCli, OverrideKvAndFlags) {
  const auto out = dir_ / "o.gguf";
  const auto r = qmix(
      "--override-kv general.name=str:tiny --override-kv test.n=int:-5 "
      "--leave-output-tensor --token-embedding-type q8_0 " +
      input_.string() + " " + out.string() + " Q4_0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto f = GgufFile::open(out);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f->get_string("general.name"), "tiny");
  EXPECT_EQ(*f->get_int("test.n"), 5) << "llama-quantize writes |int| as u32";
  EXPECT_EQ(f->find_tensor("output.weight")->type, GgmlType::F32);
  EXPECT_EQ(f->find_tensor("token_embd.weight")->type, GgmlType::Q8_0);
  std::filesystem::remove(out);
  expect_clean_failure(
      qmix("--override-kv broken " + input_.string() + " " + out.string() + " Q4_0"),
      "KEY=TYPE:VALUE");
}

}  // namespace
}  // namespace qmix
