// qmix bench (command timing, word splitting) and qmix fit from the command line.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/bench_runner.h"
#include "model/synth.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

using nlohmann::json;

std::string qmix_cmd() { return fmt::format("'{}'", test::qmix_binary().string()); }

TEST(BenchRunner, SplitsLikeAShell) {
  auto w = cli::split_command(R"(llama-quantize --imatrix 'a b.dat' "x\"y" c\ d)");
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w,
            (std::vector<std::string>{"llama-quantize", "--imatrix", "a b.dat", "x\"y", "c d"}));
  EXPECT_FALSE(cli::split_command("unterminated 'quote").ok());
  EXPECT_FALSE(cli::split_command("   ").ok());
}

TEST(BenchRunner, SpreadIsMedianMinMax) {
  const cli::Spread s = cli::spread({3.0, 1.0, 2.0, 10.0});
  EXPECT_DOUBLE_EQ(s.median, 2.5);
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.max, 10.0);
}

TEST(BenchCli, TimesACommandAgainstABaseline) {
  const auto r = test::run_command(qmix_cmd() +
                                   " bench cmd --runs 2 --warmup 0 --json --baseline true -- true");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["schema"], "qmix.bench/1");
  EXPECT_GT(j["result"]["wall_seconds"]["median"].get<double>(), 0.0);
  EXPECT_TRUE(j.contains("time_ratio"));
}

TEST(BenchCli, FailingCommandsAreErrors) {
  for (const char* args : {" bench cmd -- false", " bench cmd -- /nonexistent/qmix-nothing"}) {
    const auto r = test::run_command(qmix_cmd() + args);
    EXPECT_EQ(r.exit_code, 1) << args;
    EXPECT_EQ(r.err.rfind("qmix: error: ", 0), 0u) << r.err;
  }
}

// The in-process benches run and report their keys (no timing is asserted: benches, not tests).
TEST(BenchCli, ImatrixOverheadAndInterleavedPromptProcessing) {
  test::TempDir dir;
  SynthSpec spec;
  spec.layers = 1;
  spec.hidden = 64;
  spec.ffn = 128;
  spec.heads = 2;
  spec.kv_heads = 1;
  spec.tokenizer_from = test::testdata_dir() / "tokenizer" / "tiny-qwen3.vocab.gguf";
  const std::string model = (dir / "m.gguf").string(), text = (dir / "t.txt").string();
  ASSERT_TRUE(write_synthetic_model(spec, model).ok());
  std::string words;
  for (int i = 0; i < 200; ++i) words += fmt::format("word{} and more text ", i);
  test::write_bytes(text, words.data(), words.size());
  auto r =
      test::run_command(fmt::format("{} bench imatrix {} -f {} -c 32 --chunks 2 -t 1 --reps 1 "
                                    "--json",
                                    qmix_cmd(), model, text));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["schema"], "qmix.bench.imatrix/1");
  for (const char* job : {"eval", "collect", "perplexity"})
    EXPECT_GT(j["jobs"][job]["tokens_per_second"].get<double>(), 0.0) << job;
  EXPECT_GT(j["collect_over_eval"]["cpu"]["median"].get<double>(), 0.0);

  // Two models × two matmul paths, interleaved: rows per path, models within; each row has its
  // ratio to the first model (same path) and to the first path (same model).
  r = test::run_command(
      fmt::format("{} bench pp {} {} -c 16 -t 1 --reps 1 --matmul f32 bf16 ggml-dots --skip-dots "
                  "--json",
                  qmix_cmd(), model, model));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = json::parse(r.out);
  ASSERT_EQ(j["rows"].size(), 4u);
  EXPECT_EQ(j["rows"][0]["path"], "f32");
  EXPECT_EQ(j["rows"][3]["path"], "bf16");
  EXPECT_FALSE(j["rows"][0].contains("time_over_first"));
  EXPECT_FALSE(j["rows"][1].contains("time_over_first_path"));
  EXPECT_GT(j["rows"][1]["time_over_first"]["median"].get<double>(), 0.0);
  EXPECT_GT(j["rows"][2]["time_over_first_path"]["median"].get<double>(), 0.0);
  EXPECT_GT(j["rows"][3]["cpu_over_first_path"]["median"].get<double>(), 0.0);

  r = test::run_command(
      fmt::format("{} bench imatrix {} -f {} -c 512 --chunks 4", qmix_cmd(), model, text));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("fewer than 4 chunks of 512"), std::string::npos) << r.err;
}

TEST(FitCli, TabulatesKvTypesForAShape) {
  const auto r =
      test::run_command(qmix_cmd() + " fit --shape qwen3.6-27b --bpw 4.85 --vram 24GiB --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  ASSERT_EQ(j["rows"].size(), 3u);
  EXPECT_EQ(j["attention_layers"], 16);
  // Each smaller cache type fits a longer context; every total stays within the budget.
  EXPECT_LT(j["rows"][0]["max_ctx"].get<int64_t>(), j["rows"][1]["max_ctx"].get<int64_t>());
  EXPECT_LT(j["rows"][1]["max_ctx"].get<int64_t>(), j["rows"][2]["max_ctx"].get<int64_t>());
  for (const json& row : j["rows"]) EXPECT_LE(row["total"].get<uint64_t>(), 24ull << 30);
}

TEST(FitCli, BadInputIsOneLine) {
  for (const char* args : {" fit --shape qwen3.6-27b --bpw 4.85", " fit --vram 24GiB",
                           " fit --shape nope --bpw 4 --vram 1G", " fit missing.gguf --vram 1G",
                           " fit --shape qwen3-8b --bpw 4 --vram lots"}) {
    const auto r = test::run_command(qmix_cmd() + args);
    EXPECT_EQ(r.exit_code, 1) << args;
    EXPECT_EQ(r.err.rfind("qmix: error: ", 0), 0u) << args << ": " << r.err;
  }
}

}  // namespace
}  // namespace qmix
