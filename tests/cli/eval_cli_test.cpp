// qmix perplexity / compare / eval-logits end to end on a tiny model (Shared: needs ../shared).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "testutil/testutil.h"

namespace qmix {
namespace {

using nlohmann::json;

std::string q(const std::filesystem::path& p) { return fmt::format("'{}'", p.string()); }

class EvalCliShared : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto shared = test::shared_dir();
    if (!shared) GTEST_SKIP() << "skipped: ../shared reference material is not present";
    model_ = *shared / "gguf/tiny-qwen3.bf16.gguf";
    const std::string text = test::read_text(*shared / "data/reasoning.test.txt").substr(0, 20000);
    text_ = dir_ / "text.txt";
    test::write_bytes(text_, text.data(), text.size());
  }
  std::string qmix() const { return q(test::qmix_binary()); }
  test::TempDir dir_;
  std::filesystem::path model_, text_;
};

TEST_F(EvalCliShared, PerplexityPrintsFinalLineAndSelfKldIsZero) {
  const auto base =
      test::run_command(qmix() + " perplexity " + q(model_) + " -f " + q(text_) +
                        " --ctx 128 --chunks 4 --save-logits " + q(dir_ / "b.logits"));
  ASSERT_EQ(base.exit_code, 0) << base.err;
  EXPECT_NE(base.out.find("PPL = "), std::string::npos) << base.out;
  EXPECT_NE(base.out.find("[4]"), std::string::npos) << base.out;
  const auto self = test::run_command(qmix() + " perplexity " + q(model_) + " -f " + q(text_) +
                                      " --ctx 128 --chunks 4 --json --kld " + q(dir_ / "b.logits"));
  ASSERT_EQ(self.exit_code, 0) << self.err;
  const json j = json::parse(self.out);
  EXPECT_NEAR(j["kld"]["kld"]["mean"].get<double>(), 0.0, 1e-9);
  EXPECT_DOUBLE_EQ(j["kld"]["same_top_pct"].get<double>(), 100.0);
  EXPECT_EQ(j["scored_tokens"].get<int>(), 4 * 63);
}

TEST_F(EvalCliShared, CompareTablesAndPairedTests) {
  const auto r = test::run_command(qmix() + " compare " + q(model_) + " " + q(model_) + " -f " +
                                   q(text_) + " --ctx 128 --chunks 3 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  ASSERT_EQ(j["texts"].size(), 1u);
  const json& t = j["texts"][0];
  ASSERT_EQ(t["variants"].size(), 2u);
  EXPECT_NEAR(t["variants"][1]["kld"]["kld"]["mean"].get<double>(), 0.0, 1e-9);
  ASSERT_EQ(t["paired"].size(), 1u);
  EXPECT_FALSE(t["paired"][0]["distinguishable"].get<bool>());  // a model against itself
  const auto md = test::run_command(qmix() + " compare " + q(model_) + " " + q(model_) + " -f " +
                                    q(text_) + " --ctx 128 --chunks 2");
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_NE(md.out.find("| model | size MiB | bpw | PPL"), std::string::npos) << md.out;
}

TEST_F(EvalCliShared, EvalLogitsWritesFullRows) {
  const auto r = test::run_command(qmix() + " eval-logits " + q(model_) + " --tokens 1,2,3 -o " +
                                   q(dir_ / "l.f32"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::read_f32(dir_ / "l.f32").size(), 3u * 4096u);
}

TEST_F(EvalCliShared, BadInputIsOneLineAndNoOutput) {
  const std::string m = q(model_), t = q(text_);
  const std::vector<std::string> cases = {fmt::format(" perplexity missing.gguf -f {}", t),
                                          fmt::format(" perplexity {} -f missing.txt", m),
                                          fmt::format(" perplexity {} -f {} --kld {}", m, t, t),
                                          fmt::format(" perplexity {} -f {} --bos maybe", m, t),
                                          fmt::format(" perplexity {} -f {} --device tpu", m, t),
                                          fmt::format(" perplexity {} -f {} --matmul f8", m, t),
                                          fmt::format(" compare {} -f {}", m, t)};
  for (const std::string& args : cases) {
    const auto r = test::run_command(qmix() + args);
    EXPECT_EQ(r.exit_code, 1) << args;
    EXPECT_EQ(r.err.rfind("qmix: error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  const auto r = test::run_command(qmix() + " perplexity " + q(model_) + " -f " + q(text_) +
                                   " --ctx 100000 --save-logits " + q(dir_ / "x.logits"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "x.logits"));
}

}  // namespace
}  // namespace qmix
