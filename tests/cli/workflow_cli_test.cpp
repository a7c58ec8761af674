// `qmix workflow` on the bundled tiny model (testdata/demo), reduced to a few chunks so that it
// runs in seconds: every step runs once, a rerun skips them all, a changed parameter reruns
// exactly its step and the ones downstream, and a bad config is one error line.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "testutil/testutil.h"

namespace qmix {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string config_text(const fs::path& demo, int eval_chunks) {
  return fmt::format(R"(
[workflow]
name = "tiny"
output = "out"
threads = 2

[model]
hf = "{0}/tiny-qwen3"

[calibration]
generic = "{0}/text/generic.train.txt"
domain = "{0}/text/domain.train.txt"
ctx = 128
chunks = 4

[compare]
zones = 2

[[variant]]
name = "Q4_K_M-imat"
preset = "Q4_K_M"
imatrix = "domain"

[[variant]]
name = "Q4_K_M-L1"
preset = "Q4_K_M"
imatrix = "domain"
derive = 1

[[variant]]
name = "Q4_K_M-L2"
preset = "Q4_K_M"
imatrix = "domain"
derive = 2

[[variant]]
name = "planned"
preset = "Q4_K_M"
imatrix = "domain"
plan_bpw = 5.5

[plan]
measure = "{0}/text/domain.train.txt"
measure_ctx = 64
measure_chunks = 2
measure_zones = 2

[eval]
texts = ["{0}/text/domain.test.txt"]
ctx = 128
chunks = {1}

[report]
variant = "Q4_K_M-L2"
)",
                     demo.string(), eval_chunks);
}

class WorkflowCli : public ::testing::Test {
 protected:
  void write_config(int eval_chunks) {
    std::ofstream(dir_ / "wf.toml") << config_text(test::testdata_dir() / "demo", eval_chunks);
  }
  test::CommandResult run(const std::string& flags = "") {
    return test::run_command(fmt::format("{} workflow {} --json {}", test::qmix_binary().string(),
                                         (dir_ / "wf.toml").string(), flags));
  }
  static std::map<std::string, std::string> actions(const test::CommandResult& r) {
    std::map<std::string, std::string> m;
    const json j = json::parse(r.out);
    for (const json& s : j["steps"]) m[s["id"]] = s["action"];
    return m;
  }
  test::TempDir dir_;
};

TEST_F(WorkflowCli, RunsTheMethodThenOnlyWhatChanged) {
  write_config(3);
  const auto first = run();
  ASSERT_EQ(first.exit_code, 0) << first.err;
  for (const auto& [id, action] : actions(first)) EXPECT_EQ(action, "ran") << id;
  // convert, 2 imatrix, compare, base + derive + plan recipes, 4 quantize, 4 results
  EXPECT_EQ(actions(first).size(), 15u);
  EXPECT_NE(first.err.find("[1/15] convert:"), std::string::npos) << first.err;

  const fs::path out = dir_ / "out";
  const std::string html = test::read_text(out / "report.html");
  for (const char* id :
       {"id=\"model\"", "id=\"importance\"", "id=\"recipe\"", "id=\"variants-1\"", "id=\"fit\""})
    EXPECT_NE(html.find(id), std::string::npos) << id;
  EXPECT_NE(html.find("provenance"), std::string::npos);
  const json compare = json::parse(test::read_text(out / "eval" / "compare.json"));
  ASSERT_EQ(compare["texts"][0]["variants"].size(), 5u);  // base + four variants
  EXPECT_EQ(compare["texts"][0]["variants"][0]["ppl"].get<double>() > 1.0, true);
  // The derived level-2 recipe has data rules and the variant's file records it.
  const std::string recipe = test::read_text(out / "recipes" / "derived.L2.toml");
  EXPECT_NE(recipe.find("provenance = \"data\""), std::string::npos);
  const std::string planned = test::read_text(out / "recipes" / "planned.planned.toml");
  EXPECT_NE(planned.find("provenance = \"data\""), std::string::npos);
  EXPECT_NE(planned.find("calibrated by measured KLD"), std::string::npos);  // [plan] measure
  // Level 1 is balanced on the model's sizes: its file is the preset's size within 1 %
  // (the ladder's steps rarely pair exactly), while its recipe does change tensors.
  const std::string level1 = test::read_text(out / "recipes" / "derived.L1.toml");
  EXPECT_NE(level1.find("provenance = \"data\""), std::string::npos);
  const auto preset_bytes =
      static_cast<double>(fs::file_size(out / "models" / "tiny.Q4_K_M-imat.gguf"));
  const auto level1_bytes =
      static_cast<double>(fs::file_size(out / "models" / "tiny.Q4_K_M-L1.gguf"));
  EXPECT_LT(std::abs(level1_bytes / preset_bytes - 1.0), 0.01)
      << level1_bytes << " vs " << preset_bytes;

  const auto second = run();
  ASSERT_EQ(second.exit_code, 0) << second.err;
  for (const auto& [id, action] : actions(second)) EXPECT_EQ(action, "skipped") << id;

  write_config(2);  // only the evaluation depends on [eval] chunks
  const auto third = run();
  ASSERT_EQ(third.exit_code, 0) << third.err;
  const auto a = actions(third);
  EXPECT_EQ(a.at("evaluate"), "ran");
  EXPECT_EQ(a.at("report"), "ran");
  for (const char* id :
       {"convert", "imatrix.domain", "recipe.derive", "quantize.Q4_K_M-L2", "fit", "inspect"})
    EXPECT_EQ(a.at(id), "skipped") << id;

  const auto dry = run("--dry-run --from quantize.Q4_K_M-L2");
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(actions(dry).at("quantize.Q4_K_M-L2"), "would run");
  EXPECT_EQ(actions(dry).at("quantize.Q4_K_M-imat"), "skipped");
}

TEST_F(WorkflowCli, BadConfigIsOneErrorLine) {
  std::ofstream(dir_ / "wf.toml") << "[model]\nhf = \"x\"\ncolour = 3\n";
  const auto r = run();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, fmt::format("qmix: error: {}: [model]: unknown key 'colour'\n",
                               (dir_ / "wf.toml").string()));
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(WorkflowCli, FailingStepKeepsEarlierOutputs) {
  write_config(3);
  std::string text = test::read_text(dir_ / "wf.toml");
  // The first variant with `derive` (level 1) gets an unknown preset.
  text.replace(text.find("preset = \"Q4_K_M\"\nimatrix = \"domain\"\nderive"), 17,
               "preset = \"Q9_X\"  ");
  std::ofstream(dir_ / "wf.toml") << text;
  const auto r = run();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("qmix: error: step quantize.Q4_K_M-L1: "), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "out" / "models" / "tiny.Q4_K_M-imat.gguf"));
  EXPECT_FALSE(fs::exists(dir_ / "out" / "models" / "tiny.Q4_K_M-L1.gguf"));
  const json state = json::parse(test::read_text(dir_ / "out" / "workflow-state.json"));
  EXPECT_TRUE(state["steps"].contains("quantize.Q4_K_M-imat"));
  EXPECT_FALSE(state["steps"].contains("quantize.Q4_K_M-L1"));
}

// Chromium from Debian (scripts/install-deps.sh installs it for scripts/test.sh), if present.
std::optional<std::string> chromium() {
  for (const char* name : {"chromium", "chromium-browser"}) {
    const auto r = test::run_command(fmt::format("command -v {}", name));
    if (r.exit_code == 0 && !r.out.empty()) return r.out.substr(0, r.out.find('\n'));
  }
  return std::nullopt;
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

// The generated report as a browser sees it: the DOM after parsing (not our own string), and a
// screenshot that is a real picture.
TEST_F(WorkflowCli, ReportRendersInChromium) {
  const auto browser = chromium();
  if (!browser)
    GTEST_SKIP() << "skipped: chromium is not installed (QMIX_WITH_BROWSER=1 bash "
                    "scripts/install-deps.sh installs it)";
  write_config(2);
  const auto run_result = run();
  ASSERT_EQ(run_result.exit_code, 0) << run_result.err;
  const fs::path report = dir_ / "out" / "report.html";
  const std::string flags =
      fmt::format("--headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir={}",
                  (dir_ / "chromium-profile").string());
  const auto dom = test::run_command(
      fmt::format("{} {} --dump-dom file://{} 2>/dev/null", *browser, flags, report.string()));
  ASSERT_EQ(dom.exit_code, 0);
  const std::string& d = dom.out;
  EXPECT_NE(d.find("<title>qmix workflow: tiny</title>"), std::string::npos) << d.substr(0, 300);
  for (const char* id : {"model", "importance", "recipe", "variants-1", "fit"})
    EXPECT_EQ(count(d, fmt::format("<h2 id=\"{}\">", id)), 1u) << id;
  // Type histogram, bits per block, ratio heat map, zone chart, two Pareto plots.
  EXPECT_EQ(count(d, "<svg"), 6u);
  for (size_t at = d.find("<svg"); at != std::string::npos; at = d.find("<svg", at + 1)) {
    const std::string svg = d.substr(at, d.find("</svg>", at) - at);
    EXPECT_GT(count(svg, "<rect") + count(svg, "<circle"), 1u) << svg.substr(0, 200);
    EXPECT_GT(count(svg, "<text"), 2u);
  }
  EXPECT_GE(count(d, "<table>"), 6u);  // types, top-N, recipe, variants, paired, fit
  EXPECT_EQ(d.find("<script"), std::string::npos);

  const fs::path png = dir_ / "report.png";
  const auto shot =
      test::run_command(fmt::format("{} {} --window-size=1100,2400 --screenshot={} "
                                    "file://{} 2>/dev/null",
                                    *browser, flags, png.string(), report.string()));
  ASSERT_EQ(shot.exit_code, 0);
  const auto bytes = test::read_bytes(png);
  ASSERT_GT(bytes.size(), 20000u);  // a blank page compresses to a few KB
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(bytes.data()) + 1, 3), "PNG");
}

}  // namespace
}  // namespace qmix
