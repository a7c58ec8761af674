// `qmix tokenize` / `qmix detokenize` as a user runs them. Expected ids are transformers' ids
// from testdata/tokenizer/tiny-qwen3.tokens.json ("Hello world", "<|im_start|>user\nhi<|im_end|>").
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "testutil/testutil.h"

namespace qmix {
namespace {

std::string qmix_cmd(const std::string& args) { return test::qmix_binary().string() + " " + args; }

std::string vocab() {
  return (test::testdata_dir() / "tokenizer" / "tiny-qwen3.vocab.gguf").string();
}

TEST(TokenizeCli, IdsOnly) {
  const auto r =
      test::run_command(qmix_cmd("tokenize " + vocab() + " --text 'Hello world' --ids-only"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1005 3196 1365 465\n");
}

TEST(TokenizeCli, ParseSpecialAndJson) {
  const std::string text = "'<|im_start|>user\nhi<|im_end|>'";
  const auto r =
      test::run_command(qmix_cmd("tokenize " + vocab() + " --json --parse-special --text " + text));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("ids"), nlohmann::json({1, 2972, 201, 74, 75, 2}));
  EXPECT_EQ(j.at("count"), 6);
  EXPECT_EQ(j.at("tokens")[0], "<|im_start|>");
  // Without --parse-special the markers are ordinary text.
  const auto plain = test::run_command(qmix_cmd("tokenize " + vocab() + " --json --text " + text));
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_GT(nlohmann::json::parse(plain.out).at("count").get<int>(), 6);
}

TEST(TokenizeCli, FileAndTable) {
  test::TempDir dir;
  const std::string text = "Hello world";
  test::write_bytes(dir / "in.txt", text.data(), text.size());
  const auto r =
      test::run_command(qmix_cmd("tokenize " + vocab() + " --file " + (dir / "in.txt").string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("1005"), std::string::npos);
  EXPECT_NE(r.out.find("    1365 ' wor'"), std::string::npos) << r.out;
}

TEST(TokenizeCli, DetokenizeRoundTrip) {
  const auto r = test::run_command(qmix_cmd("detokenize " + vocab() + " 1005 3196 1365 465"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Hello world\n");
  const auto special =
      test::run_command(qmix_cmd("detokenize " + vocab() + " --special '1,2972,201,74,75,2'"));
  EXPECT_EQ(special.out, "<|im_start|>user\nhi<|im_end|>\n");
  const auto skipped = test::run_command(qmix_cmd("detokenize " + vocab() + " 1,2972,201,74,75,2"));
  EXPECT_EQ(skipped.out, "user\nhi\n");
}

TEST(TokenizeCli, ErrorsAreOneLine) {
  const auto missing = test::run_command(qmix_cmd("tokenize /nonexistent.gguf --text x"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err.rfind("qmix: error: ", 0), 0u) << missing.err;
  EXPECT_EQ(missing.out, "");
  const auto no_text = test::run_command(qmix_cmd("tokenize " + vocab()));
  EXPECT_EQ(no_text.exit_code, 1);
  EXPECT_NE(no_text.err.find("--text"), std::string::npos) << no_text.err;
  const auto bad_id = test::run_command(qmix_cmd("detokenize " + vocab() + " 5 99999"));
  EXPECT_EQ(bad_id.exit_code, 1);
  EXPECT_NE(bad_id.err.find("99999"), std::string::npos) << bad_id.err;
  EXPECT_EQ(bad_id.out, "");
  const auto not_id = test::run_command(qmix_cmd("detokenize " + vocab() + " 5 x7"));
  EXPECT_EQ(not_id.exit_code, 1);
  EXPECT_NE(not_id.err.find("x7"), std::string::npos) << not_id.err;
}

}  // namespace
}  // namespace qmix
