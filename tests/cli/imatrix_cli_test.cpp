// `qmix imatrix`: the commands end to end on the small fixture, and bad input giving one
// error line, exit code 1 and no output file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

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
  // `qmix imatrix MODEL …` without the word `collect` (how llama-imatrix is called) collects.
  r = run_command(fmt::format("{} imatrix {} --tokens {} -c 16 -t 1 -o {}", qmix(), model,
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

// The collection options of issue #10 end to end through the CLI on a small synthetic model.
class ImatrixCollectCli : public testing::Test {
 protected:
  static constexpr int kCtx = 32;
  void SetUp() override {
    SynthSpec spec;
    spec.layers = 2;
    spec.hidden = 128;
    spec.ffn = 256;
    spec.vocab = 300;
    ASSERT_TRUE(write_synthetic_model(spec, model_).ok());
  }
  // Token ids for chunks [first, first + n) of one fixed stream, as a --tokens file.
  std::string ids_file(int first, int n, const std::string& name) {
    std::string ids;
    for (int i = first * kCtx; i < (first + n) * kCtx; ++i)
      ids += fmt::format("{}\n", (i * 7 + i / 5) % 300);
    test::write_bytes(dir_ / name, ids.data(), ids.size());
    return (dir_ / name).string();
  }
  test::CommandResult collect(const std::string& ids, const std::string& out,
                              const std::string& extra = "") {
    return run_command(fmt::format("{} imatrix collect {} --tokens {} -c {} -t 2 -o {} {}", qmix(),
                                   model_.string(), ids, kCtx, out, extra));
  }
  std::string path(const char* name) const { return (dir_ / name).string(); }

  TempDir dir_;
  std::filesystem::path model_ = dir_ / "m.gguf";
};

// Sums stored as F32 (GGUF) after different addition orders agree to float precision.
void expect_same_sums(const Imatrix& a, const Imatrix& b) {
  ASSERT_EQ(a.entries.size(), b.entries.size());
  for (size_t i = 0; i < a.entries.size(); ++i) {
    const auto &x = a.entries[i], &y = b.entries[i];
    SCOPED_TRACE(x.name);
    ASSERT_EQ(x.name, y.name);
    EXPECT_EQ(x.counts, y.counts);
    ASSERT_EQ(x.sum_sq.size(), y.sum_sq.size());
    for (size_t j = 0; j < x.sum_sq.size(); ++j)
      ASSERT_NEAR(x.sum_sq[j], y.sum_sq[j], 1e-5 * std::abs(y.sum_sq[j]) + 1e-12) << j;
  }
}

// Ctrl-C after a periodic save keeps the complete chunks (with their per-chunk statistics);
// --resume finishes the run, equal to one uninterrupted run; compare then has intervals.
TEST_F(ImatrixCollectCli, InterruptSaveEveryResumeAndChunkStats) {
  constexpr int kChunks = 400;
  const std::string ids = ids_file(0, kChunks, "all.txt"), out = path("r.gguf");
  const auto r = run_command(fmt::format(
      "({} imatrix collect {} --tokens {} -c {} -t 2 -o {} --save-every 1 --chunk-stats & "
      "pid=$!; while [ ! -e {} ]; do sleep 0.01; done; kill -INT $pid; wait $pid; echo rc=$?)",
      qmix(), model_.string(), ids, kCtx, out, out));
  EXPECT_NE(r.out.find("rc=1"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.err.find("interrupted: saved"), std::string::npos) << r.err;
  auto partial = read_imatrix(out);
  ASSERT_TRUE(partial.ok()) << partial.error().message;
  EXPECT_GE(partial->chunk_count, 1);
  EXPECT_LT(partial->chunk_count, kChunks);
  for (const auto& e : partial->entries)
    EXPECT_EQ(e.chunk_counts.size(), static_cast<size_t>(partial->chunk_count));

  auto done = collect(ids, out, "--resume --chunk-stats");
  ASSERT_EQ(done.exit_code, 0) << done.err;
  EXPECT_NE(done.out.find(fmt::format("{} chunks of {} tokens ({} new)", kChunks, kCtx,
                                      kChunks - partial->chunk_count)),
            std::string::npos)
      << done.out;
  ASSERT_EQ(collect(ids, path("one.gguf"), "--chunk-stats").exit_code, 0);
  const auto resumed = read_imatrix(out), one = read_imatrix(path("one.gguf"));
  ASSERT_TRUE(resumed.ok() && one.ok());
  EXPECT_EQ(resumed->chunk_count, kChunks);
  expect_same_sums(*resumed, *one);
  for (const auto& e : resumed->entries) {
    ASSERT_EQ(e.chunk_counts.size(), static_cast<size_t>(kChunks));
    EXPECT_EQ(e.chunk_counts, one->find(e.name)->chunk_counts);
  }

  auto cmp = run_command(fmt::format("{} imatrix compare --json --bootstrap 200 {} {}", qmix(), out,
                                     path("one.gguf")));
  ASSERT_EQ(cmp.exit_code, 0) << cmp.err;
  const auto j = nlohmann::json::parse(cmp.out);
  EXPECT_TRUE(j["has_intervals"].get<bool>());
  for (const auto& t : j["tensors"]) {
    EXPECT_NEAR(t["ratio"].get<double>(), 1.0, 1e-4);
    EXPECT_LE(t["ci_low"].get<double>(), 1.0 + 1e-4);
    EXPECT_GE(t["ci_high"].get<double>(), 1.0 - 1e-4);
    EXPECT_LT(t["ci_low"].get<double>(), t["ci_high"].get<double>());
  }
}

// Two corpora collected apart and merged equal one collection over both (merge weighs by rows);
// the legacy .dat output keeps the means; output.weight only with --process-output.
TEST_F(ImatrixCollectCli, MergeDatAndProcessOutput) {
  const std::string a = ids_file(0, 2, "a.txt"), b = ids_file(2, 4, "b.txt"),
                    both = ids_file(0, 6, "ab.txt");
  ASSERT_EQ(collect(a, path("a.gguf")).exit_code, 0);
  ASSERT_EQ(collect(b, path("b.dat")).exit_code, 0);
  ASSERT_EQ(collect(both, path("ab.gguf")).exit_code, 0);
  auto r = run_command(fmt::format("{} imatrix merge {} {} --chunk-size {} -o {}", qmix(),
                                   path("a.gguf"), path("b.dat"), kCtx, path("merged.gguf")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto merged = read_imatrix(path("merged.gguf")), whole = read_imatrix(path("ab.gguf"));
  ASSERT_TRUE(merged.ok() && whole.ok());
  EXPECT_EQ(merged->chunk_count, 6);
  expect_same_sums(*merged, *whole);

  // .dat → GGUF: the means survive (the .dat stores E[x²] × calls).
  r = run_command(fmt::format("{} imatrix convert --chunk-size {} {} {}", qmix(), kCtx,
                              path("b.dat"), path("b.gguf")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = collect(b, path("b2.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto from_dat = read_imatrix(path("b.gguf")), direct = read_imatrix(path("b2.gguf"));
  ASSERT_TRUE(from_dat.ok() && direct.ok());
  expect_same_sums(*from_dat, *direct);

  EXPECT_EQ(whole->find("output.weight"), nullptr);
  ASSERT_EQ(collect(a, path("o.gguf"), "--process-output").exit_code, 0);
  const auto with_output = read_imatrix(path("o.gguf"));
  ASSERT_TRUE(with_output.ok());
  const ImatrixEntry* out = with_output->find("output.weight");
  ASSERT_NE(out, nullptr);
  // Every position of every chunk goes through the output matrix when it is collected.
  EXPECT_EQ(out->counts, std::vector<int64_t>{2 * kCtx});
  EXPECT_EQ(with_output->entries.size(), whole->entries.size() + 1);
}

}  // namespace
}  // namespace qmix
