// `qmix imatrix`: the commands end to end on the small fixture, and bad input giving one
// error line, exit code 1 and no output file.
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "imatrix/imatrix_file.h"
#include "model/synth.h"
#include "recipe/recipe.h"
#include "recipe/recipe_toml.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

using test::run_command;
using test::TempDir;

std::string qmix() { return test::qmix_binary().string(); }
std::string fixture(const char* name) { return (test::testdata_dir() / "imatrix" / name).string(); }

// One line on stderr starting "qmix: error:", exit code 1, nothing on stdout.
void expect_one_line_error(const test::CommandResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("qmix: error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST(ImatrixCli, ConvertRoundTripsThroughDat) {
  TempDir dir;
  const std::string dat = (dir / "x.dat").string(), back = (dir / "x.gguf").string();
  auto r = run_command(
      fmt::format("{} imatrix convert {} {}", qmix(), fixture("small.imatrix.gguf"), dat));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::read_bytes(dat), test::read_bytes(fixture("small.imatrix.dat")));
  r = run_command(fmt::format("{} imatrix convert --chunk-size 32 {} {}", qmix(), dat, back));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto im = read_imatrix(back);
  ASSERT_TRUE(im.ok());
  EXPECT_EQ(im->chunk_size, 32);
  EXPECT_FLOAT_EQ(im->find("blk.0.attn_q.weight")->mean_sq(0)[3], 1.0f);
}

TEST(ImatrixCli, StatsJsonHasEveryTensor) {
  auto r =
      run_command(fmt::format("{} imatrix stats --json {}", qmix(), fixture("small.imatrix.gguf")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["tensors"].size(), 2u);
  EXPECT_EQ(j["tensors"][0]["name"], "blk.0.attn_q.weight");
  EXPECT_EQ(j["chunk_size"], 32);
  r = run_command(fmt::format("{} imatrix stats {}", qmix(), fixture("small.imatrix.gguf")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("blk.0.ffn_up_exps.weight"), std::string::npos);
}

TEST(ImatrixCli, CompareAndMergeAndRecipe) {
  TempDir dir;
  const std::string merged = (dir / "m.gguf").string(), patch = (dir / "p.toml").string();
  auto r =
      run_command(fmt::format("{} imatrix merge {} {} -o {}", qmix(), fixture("small.imatrix.gguf"),
                              fixture("small.imatrix.gguf"), merged));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto m = read_imatrix(merged);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->chunk_count, 8);
  EXPECT_EQ(m->find("blk.0.attn_q.weight")->counts, std::vector<int64_t>{128});
  r = run_command(fmt::format("{} imatrix compare --json --emit-recipe {} {} {}", qmix(), patch,
                              merged, fixture("small.imatrix.gguf")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const auto& t : j["tensors"]) EXPECT_NEAR(t["ratio"].get<double>(), 1.0, 1e-6);
  EXPECT_NE(test::read_text(patch).find("name = \"imatrix-compare\""), std::string::npos);
}

// The patch `compare --emit-recipe` writes is a recipe the recipe module accepts, and its rules
// select exactly the tensors they name.
TEST(ImatrixCli, EmittedPatchIsAValidRecipe) {
  TempDir dir;
  Imatrix domain = *read_imatrix(fixture("small.imatrix.gguf"));
  // Make attn_q 4x more important on the domain corpus: with two tensors that is ratio 2 for it
  // and 1/2 for the other.
  for (double& v : domain.find("blk.0.attn_q.weight")->sum_sq) v *= 4;
  ASSERT_TRUE(write_imatrix(domain, dir / "d.gguf", ImatrixFormat::kGguf).ok());
  const std::string patch = (dir / "p.toml").string();
  auto r = run_command(fmt::format("{} imatrix compare --emit-recipe {} {} {}", qmix(), patch,
                                   (dir / "d.gguf").string(), fixture("small.imatrix.gguf")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto recipe = load_recipe(patch);
  ASSERT_TRUE(recipe.ok()) << recipe.error().message << "\n" << test::read_text(patch);
  ASSERT_TRUE(validate_recipe(*recipe, patch).ok());
  ASSERT_EQ(recipe->rules.size(), 2u);
  const RecipeRule& promote = recipe->rules[0];
  EXPECT_EQ(promote.match, R"(^blk\.0\.attn_q\.weight$)");
  EXPECT_EQ(promote.type, GgmlType::Q6_K);
  EXPECT_EQ(promote.provenance, Provenance::kData);
  const RecipeRule& demote = recipe->rules[1];
  EXPECT_EQ(demote.type, GgmlType::Q3_K);
  EXPECT_FALSE(demote.evidence.empty());
}

TEST(ImatrixCli, BadInputIsOneLineAndLeavesNothing) {
  TempDir dir;
  test::write_bytes(dir / "junk.gguf", "GGUF\x03\0\0\0garbage", 15);
  test::write_bytes(dir / "junk.dat", "\x05\0\0\0abc", 7);
  const std::string out = (dir / "out.gguf").string();
  struct Case {
    std::string args, needle;
  };
  const std::vector<Case> cases = {
      {fmt::format("convert {} {}", (dir / "missing.gguf").string(), out), "missing.gguf"},
      {fmt::format("convert {} {}", (dir / "junk.gguf").string(), out), "junk.gguf"},
      {fmt::format("convert {} {}", (dir / "junk.dat").string(), out), "junk.dat"},
      {fmt::format("merge {} {} -o {}", fixture("small.imatrix.gguf"), (dir / "junk.dat").string(),
                   out),
       "junk.dat"},
      {fmt::format("convert --output-format bin {} {}", fixture("small.imatrix.gguf"), out),
       "unknown imatrix format"},
      {fmt::format("compare --demote-below 2 {} {}", fixture("small.imatrix.gguf"),
                   fixture("small.imatrix.gguf")),
       "thresholds"},
      {fmt::format("stats {}", (dir / "junk.dat").string()), "junk.dat"},
      {fmt::format("collect -m {} --tokens {} -o {}", (dir / "missing.gguf").string(),
                   fixture("small.imatrix.dat"), out),
       "missing.gguf"},
      {"collect", "model"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.args);
    expect_one_line_error(run_command(fmt::format("{} imatrix {}", qmix(), c.args)), c.needle);
    EXPECT_FALSE(std::filesystem::exists(out));
  }
  // Writing over an input is refused; the input is untouched.
  const std::string copy = (dir / "copy.gguf").string();
  std::filesystem::copy_file(fixture("small.imatrix.gguf"), copy);
  expect_one_line_error(run_command(fmt::format("{} imatrix convert {} {}", qmix(), copy, copy)),
                        "is the input");
  EXPECT_EQ(test::read_bytes(copy), test::read_bytes(fixture("small.imatrix.gguf")));
}

TEST(ImatrixCli, CollectOnASyntheticModelAndBadTokens) {
  TempDir dir;
  SynthSpec spec;
  spec.layers = 2;
  spec.hidden = 256;
  spec.ffn = 256;
  spec.vocab = 300;
  ASSERT_TRUE(write_synthetic_model(spec, dir / "m.gguf").ok());
  std::string ids;
  for (int i = 0; i < 3 * 32; ++i) ids += fmt::format("{}\n", (i * 7) % 300);
  test::write_bytes(dir / "t.txt", ids.data(), ids.size());
  const std::string out = (dir / "i.gguf").string();
  const std::string base =
      fmt::format("{} imatrix collect -m {} -t 2 -o {}", qmix(), (dir / "m.gguf").string(), out);
  auto r =
      run_command(fmt::format("{} -c 32 --tokens {} --chunks 2", base, (dir / "t.txt").string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto im = read_imatrix(out);
  ASSERT_TRUE(im.ok());
  EXPECT_EQ(im->chunk_count, 2);
  r = run_command(fmt::format("{} -c 32 --tokens {} --resume", base, (dir / "t.txt").string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("3 chunks of 32 tokens (1 new)"), std::string::npos) << r.out;

  test::write_bytes(dir / "bad.txt", "1\n2\n999\n", 8);
  std::filesystem::remove(out);
  expect_one_line_error(
      run_command(fmt::format("{} -c 32 --tokens {}", base, (dir / "bad.txt").string())),
      "line 3: token id 999 outside the vocabulary");
  expect_one_line_error(
      run_command(fmt::format("{} --tokens {} -c 128", base, (dir / "t.txt").string())),
      "less than one chunk");
  EXPECT_FALSE(std::filesystem::exists(out));
}

// JSONL chat records (testdata/chat) collected through the renderer give the same imatrix as the
// ids of the hand-written expected rendering, tokenized by `qmix tokenize --parse-special`; bad
// lines are one error naming the line; perplexity reads the same input.
TEST(ImatrixCli, CollectFromJsonlChatRecords) {
  TempDir dir;
  SynthSpec spec;
  spec.layers = 1;
  spec.hidden = 64;
  spec.ffn = 128;
  spec.heads = 2;
  spec.kv_heads = 1;
  spec.vocab = 4096;
  spec.tokenizer_from = test::testdata_dir() / "tokenizer" / "tiny-qwen3.vocab.gguf";
  const std::string model = (dir / "m.gguf").string();
  ASSERT_TRUE(write_synthetic_model(spec, model).ok());
  const std::string jsonl = (test::testdata_dir() / "chat" / "qwen3_reasoning.jsonl").string();
  const std::string expected =
      (test::testdata_dir() / "chat" / "qwen3_reasoning.expected.txt").string();
  auto r = run_command(fmt::format("{} tokenize {} --file {} --parse-special --no-bos --ids-only",
                                   qmix(), model, expected));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string ids = r.out;
  std::replace(ids.begin(), ids.end(), ' ', '\n');
  test::write_bytes(dir / "ids.txt", ids.data(), ids.size());

  const std::string from_jsonl = (dir / "j.gguf").string(), from_ids = (dir / "i.gguf").string();
  r = run_command(fmt::format(
      "{} imatrix collect {} -f {} --format jsonl --chat-template qwen3 -c 16 -t 1 -o {}", qmix(),
      model, jsonl, from_jsonl));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_command(fmt::format("{} imatrix collect {} --tokens {} -c 16 -t 1 -o {}", qmix(), model,
                              (dir / "ids.txt").string(), from_ids));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto a = read_imatrix(from_jsonl), b = read_imatrix(from_ids);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_GE(a->chunk_count, 5);
  EXPECT_EQ(a->chunk_count, b->chunk_count);
  ASSERT_EQ(a->entries.size(), b->entries.size());
  for (size_t i = 0; i < a->entries.size(); ++i) {
    EXPECT_EQ(a->entries[i].counts, b->entries[i].counts);
    EXPECT_EQ(a->entries[i].sum_sq, b->entries[i].sum_sq) << a->entries[i].name;
  }

  r =
      run_command(fmt::format("{} perplexity {} -f {} --format jsonl --chat-template chatml -c 16 "
                              "-t 1 --json",
                              qmix(), model, jsonl));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(nlohmann::json::parse(r.out)["chunks"].get<int>(), 5);

  const std::string bad = "{\"text\": \"a\"}\n{\"text\": 1}\n";
  test::write_bytes(dir / "bad.jsonl", bad.data(), bad.size());
  const std::string out = (dir / "o.gguf").string();
  expect_one_line_error(
      run_command(fmt::format("{} imatrix collect {} -f {} --format jsonl -c 16 -o {}", qmix(),
                              model, (dir / "bad.jsonl").string(), out)),
      "bad.jsonl: line 2: \"text\" is neither a string nor a list of messages");
  // The vocabulary fixture has no chat template: auto cannot pick a renderer.
  expect_one_line_error(
      run_command(fmt::format("{} imatrix collect {} -f {} --format jsonl -c 16 -o {}", qmix(),
                              model, jsonl, out)),
      "line 1: the model has no chat template");
  expect_one_line_error(
      run_command(fmt::format("{} perplexity {} -f {} --format csv", qmix(), model, jsonl)),
      "--format must be text or jsonl");
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace qmix
