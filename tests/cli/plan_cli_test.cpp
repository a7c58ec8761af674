// `qmix plan` end to end on tiny-qwen3 (../shared): the recipe it writes is accepted by
// `qmix recipe explain` and `qmix quantize --recipe --dry-run`, a re-plan reads every
// sensitivity from the cache, --json carries the numbers, and bad budgets fail on one line.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <set>

#include "testutil/testutil.h"

namespace qmix {
namespace {

std::string q(const std::filesystem::path& p) { return fmt::format("'{}'", p.string()); }

struct Paths {
  std::filesystem::path model, imatrix;
};

Paths tiny_qwen3(const std::filesystem::path& shared) {
  return {shared / "gguf" / "tiny-qwen3.bf16.gguf",
          shared / "gguf" / "imatrix" / "tiny-qwen3.wiki.imatrix.gguf"};
}

test::CommandResult plan(const Paths& p, const std::string& args) {
  return test::run_command(fmt::format("{} plan {} --imatrix {} --sample-rows 32 {}",
                                       test::qmix_binary().string(), q(p.model), q(p.imatrix),
                                       args));
}

TEST(PlanCliShared, RecipeLoadsInExplainAndQuantizeAndTheCacheAnswersARePlan) {
  QMIX_REQUIRE_SHARED(shared);
  const Paths p = tiny_qwen3(shared);
  test::TempDir dir;
  const std::string common = fmt::format(" --target-bpw 5.0 --cache-dir {}", q(dir / "cache"));
  const auto first = plan(p, fmt::format("{} -o {} --explain", common, q(dir / "plan.toml")));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.err.find("gain/byte"), std::string::npos) << first.err;
  EXPECT_NE(first.err.find(" 0 from cache"), std::string::npos) << first.err;
  const auto again = plan(p, fmt::format("{} --json", common));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("0 tensors measured"), std::string::npos) << again.err;
  const auto j = nlohmann::json::parse(again.out);
  EXPECT_EQ(j.at("schema"), "qmix.plan/1");
  EXPECT_LE(j.at("bytes").get<uint64_t>(), j.at("budget_bytes").get<uint64_t>());
  EXPECT_NEAR(j.at("bpw").get<double>(), 5.0, 0.05);
  EXPECT_EQ(j.at("recipe").get<std::string>(), test::read_text(dir / "plan.toml"));

  const auto explain = test::run_command(fmt::format(
      "{} recipe explain {} {}", test::qmix_binary().string(), q(dir / "plan.toml"), q(p.model)));
  EXPECT_EQ(explain.exit_code, 0) << explain.err;
  const auto dry = test::run_command(
      fmt::format("{} quantize --recipe {} --imatrix {} --dry-run {}", test::qmix_binary().string(),
                  q(dir / "plan.toml"), q(p.imatrix), q(p.model)));
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
}

TEST(PlanCliShared, MeasureCalibratesOneScalePerRole) {
  QMIX_REQUIRE_SHARED(shared);
  const Paths p = tiny_qwen3(shared);
  test::TempDir dir;
  const std::string text = test::read_text(shared / "data" / "reasoning.train.txt").substr(0, 4000);
  test::write_bytes(dir / "calib.txt", text.data(), text.size());
  const auto r =
      plan(p, fmt::format("--target-bpw 5.0 --cache-dir {} --measure {} --measure-ctx 64 "
                          "--measure-chunks 2 --json",
                          q(dir / "cache"), q(dir / "calib.txt")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  std::set<double> scales;
  for (const auto& [role, scale] : j.at("scales").items()) {
    EXPECT_GT(scale.get<double>(), 0.0) << role;
    scales.insert(scale.get<double>());
  }
  EXPECT_GT(scales.size(), 3u);  // measured per role, not a constant
  EXPECT_TRUE(std::filesystem::exists(dir / "cache" / "kld"));
}

TEST(PlanCliShared, BadBudgetsFailOnOneLine) {
  QMIX_REQUIRE_SHARED(shared);
  const Paths p = tiny_qwen3(shared);
  const auto low = plan(p, "--no-cache --target-bpw 1.5");
  EXPECT_EQ(low.exit_code, 1);
  EXPECT_EQ(low.err.rfind("qmix: error: budget infeasible", 0), 0u) << low.err;
  EXPECT_NE(low.err.find("bpw)"), std::string::npos);
  EXPECT_EQ(std::count(low.err.begin(), low.err.end(), '\n'), 1);
  EXPECT_TRUE(low.out.empty());
  const auto none = plan(p, "--no-cache");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("exactly one budget"), std::string::npos) << none.err;
  const auto both = plan(p, "--no-cache --target-bpw 5 --size 2MiB");
  EXPECT_EQ(both.exit_code, 1);
  const auto vram = plan(p, "--no-cache --vram 1MiB --ctx 256");
  EXPECT_EQ(vram.exit_code, 1);
  EXPECT_NE(vram.err.find("nothing is left for the weights"), std::string::npos) << vram.err;
}

}  // namespace
}  // namespace qmix
