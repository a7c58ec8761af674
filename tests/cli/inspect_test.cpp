// `qmix inspect` run as a program: the fixtures in testdata/gguf (written byte by byte by
// scripts/make_gguf_fixtures.py, which also computed their .expected.json facts) and, in the
// Shared suite, every GGUF made by llama.cpp's tools against llama-quantize's own tables.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "testutil/testutil.h"

namespace qmix {
namespace {

using nlohmann::json;

test::CommandResult inspect(const std::string& args) {
  return test::run_command(test::qmix_binary().string() + " inspect " + args);
}

// Shell-quoted path (fmt rather than "'" + s + "'", which trips GCC 12's -Wrestrict at -O3).
std::string quoted(const std::filesystem::path& p) { return fmt::format("'{}'", p.string()); }

json inspect_json(const std::filesystem::path& file, const std::string& extra = "") {
  const auto r = inspect(quoted(file) + " --json " + extra);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  return json::parse(r.out);
}

json read_json(const std::filesystem::path& path) { return json::parse(test::read_text(path)); }

std::filesystem::path fixture(const std::string& name) {
  return test::testdata_dir() / "gguf" / name;
}

// Everything the fixture script computed must come out of inspect --json exactly.
void expect_matches_facts(const json& j, const json& facts) {
  EXPECT_EQ(j["schema"], "qmix.inspect/1");
  EXPECT_EQ(j["file"]["size"], facts["file_size"]);
  EXPECT_EQ(j["file"]["shards"].size(), facts["shards"]);
  EXPECT_EQ(j["model"]["params"], facts["params"]);
  EXPECT_EQ(j["model"]["tensor_count"], facts["tensor_count"]);
  EXPECT_EQ(j["totals"]["tensors"]["bytes"], facts["tensor_bytes"]);
  const double bpw = 8.0 * facts["tensor_bytes"].get<double>() / facts["params"].get<double>();
  EXPECT_DOUBLE_EQ(j["bpw"]["tensors"].get<double>(), bpw);
  ASSERT_EQ(j["types"].size(), facts["types"].size());
  for (const auto& t : j["types"]) {
    SCOPED_TRACE(t["type"].get<std::string>());
    const json& want = facts["types"].at(t["type"].get<std::string>());
    EXPECT_EQ(t["tensors"], want["tensors"]);
    EXPECT_EQ(t["params"], want["params"]);
    EXPECT_EQ(t["bytes"], want["bytes"]);
  }
  ASSERT_EQ(j["tensors"].size(), facts["tensor_types"].size());
  for (const auto& t : j["tensors"])
    EXPECT_EQ(t["type"], facts["tensor_types"].at(t["name"].get<std::string>())) << t["name"];
}

TEST(Inspect, JsonMatchesTheFixtureScriptsFacts) {
  const json j = inspect_json(fixture("tiny-mixed.gguf"));
  expect_matches_facts(j, read_json(fixture("tiny-mixed.expected.json")));
  EXPECT_EQ(j["file"]["gguf_version"], 3);
  EXPECT_EQ(j["file"]["alignment"], 64);
  EXPECT_EQ(j["model"]["architecture"], "llama");
  EXPECT_EQ(j["model"]["file_type"], 15);
  EXPECT_EQ(j["tokenizer"]["vocab_size"], 40);
  EXPECT_EQ(j["tokenizer"]["merges"], 12);
  EXPECT_EQ(j["tokenizer"]["bos_token_id"], 1);
  // 2-D+ tensors only: every tensor except the 7 vectors (norms, bias, rope_freqs).
  EXPECT_EQ(j["totals"]["matrices"]["tensors"], 14);
}

TEST(Inspect, SplitModelIsReportedAsOne) {
  const json j = inspect_json(fixture("tiny-mixed-split-00001-of-00002.gguf"));
  expect_matches_facts(j, read_json(fixture("tiny-mixed-split.expected.json")));
  EXPECT_EQ(j["file"]["shards"][1]["tensors"], 11);
  EXPECT_EQ(j["tensors"].back()["shard"], 1);
  // Metadata comes from the first shard.
  EXPECT_EQ(j["model"]["name"], "tiny-mixed");
}

TEST(Inspect, LayersGiveEachBlocksTypes) {
  const json j = inspect_json(fixture("tiny-mixed.gguf"));
  const json& blocks = j["layers"]["blocks"];
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0]["types"]["attn_q"], "Q4_K");
  EXPECT_EQ(blocks[0]["types"]["attn_q.bias"], "F32");
  EXPECT_EQ(blocks[1]["types"]["attn_q"], "Q5_K");
  EXPECT_EQ(blocks[1]["types"]["ffn_up_exps"], "Q4_0");
  EXPECT_FALSE(blocks[1]["types"].contains("ffn_up"));
  // Block 1: norms 2×256 F32, attn_q/k Q5_K (4+2 rows), attn_v Q6_K (2), attn_output BF16 (2),
  // ffn_up_exps Q4_0 (2×2), ffn_down IQ4_XS (4), all rows of 256.
  EXPECT_EQ(blocks[1]["bytes"],
            2 * 256 * 4 + 6 * 176 + 2 * 210 + 2 * 256 * 2 + 1024 / 32 * 18 + 4 * 136);
  EXPECT_EQ(blocks[1]["params"], 2 * 256 + 6 * 256 + 2 * 256 + 2 * 256 + 4 * 256 + 4 * 256);
}

TEST(Inspect, MetadataArraysAreCutUnlessKv) {
  const auto find_key = [](const json& j, const std::string& key) {
    for (const auto& kv : j["metadata"])
      if (kv["key"] == key) return kv;
    return json();
  };
  const json head = find_key(inspect_json(fixture("tiny-mixed.gguf")), "tokenizer.ggml.tokens");
  EXPECT_EQ(head["count"], 40);
  EXPECT_EQ(head["value"].size(), 16u);
  EXPECT_EQ(head["truncated"], true);
  EXPECT_EQ(head["value"][1], "<s>");
  const json full =
      find_key(inspect_json(fixture("tiny-mixed.gguf"), "--kv"), "tokenizer.ggml.tokens");
  EXPECT_EQ(full["value"].size(), 40u);
  EXPECT_EQ(full["value"][39], "tok36");
  EXPECT_EQ(full["truncated"], false);
}

std::vector<std::string> split_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::istringstream in(line);
  for (std::string cell; in >> cell;) cells.push_back(cell);
  return cells;
}

// Whether some line of a text table has exactly these whitespace-separated cells ("*": any).
// (No std::regex: GCC's <regex> breaks the -Werror sanitizer build.)
bool has_row(const std::string& text, const std::vector<std::string>& want) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto cells = split_cells(line);
    if (cells.size() != want.size()) continue;
    bool match = true;
    for (size_t i = 0; i < cells.size() && match; ++i)
      match = want[i] == "*" || want[i] == cells[i];
    if (match) return true;
  }
  return false;
}

TEST(Inspect, TextShowsTheTypeHistogram) {
  const auto r = inspect(quoted(fixture("tiny-mixed.gguf")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json facts = read_json(fixture("tiny-mixed.expected.json"));
  for (const auto& [type, t] : facts["types"].items()) {
    SCOPED_TRACE(type);
    EXPECT_TRUE(has_row(
        r.out, {type, t["tensors"].dump(), t["params"].dump(), t["bytes"].dump(), "B", "*", "*"}))
        << r.out;
  }
  EXPECT_TRUE(has_row(r.out, {"total", "21", "31012", "31888", "B", "90.4%", "8.23"})) << r.out;
  EXPECT_NE(r.out.find("bpw        8.23 over all tensors"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("tensors\n #"), std::string::npos);  // no tensor list unless asked
}

TEST(Inspect, TextSectionsOnRequest) {
  const auto r = inspect(quoted(fixture("tiny-mixed.gguf")) + " --tensors --layers --kv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json facts = read_json(fixture("tiny-mixed.expected.json"));
  int listed = 0;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    const auto cells = split_cells(line);
    if (cells.size() < 3 || !facts["tensor_types"].contains(cells[1])) continue;
    EXPECT_EQ(cells[2], facts["tensor_types"][cells[1]]) << line;
    ++listed;
  }
  EXPECT_EQ(listed, 21);
  // Layers: matrices only (no norms); block 1 has no plain ffn_up.
  EXPECT_TRUE(has_row(r.out, {"blk", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_up",
                              "ffn_down", "ffn_up_exps", "bytes", "bpw"}))
      << r.out;
  EXPECT_TRUE(has_row(
      r.out, {"1", "Q5_K", "Q5_K", "Q6_K", "BF16", "-", "IQ4_XS", "Q4_0", "5668", "B", "8.86"}))
      << r.out;
  // Metadata: one line per key, control characters escaped, long arrays cut.
  EXPECT_NE(r.out.find(R"("{% for m in messages %}\n{{ m.content }}\n{% endfor %}")"),
            std::string::npos);
  EXPECT_NE(r.out.find("… (40 str items)]"), std::string::npos);
}

void expect_one_line_error(const test::CommandResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_TRUE(r.err.starts_with("qmix: error: ")) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST(Inspect, BadInputIsOneErrorLine) {
  test::TempDir dir;
  expect_one_line_error(inspect(quoted(dir / "missing.gguf")), "missing.gguf");
  const auto bytes = test::read_bytes(fixture("tiny-mixed.gguf"));
  test::write_bytes(dir / "cut.gguf", bytes.data(), 1000);
  expect_one_line_error(inspect(quoted(dir / "cut.gguf") + " --json"), "cut.gguf");
  test::write_bytes(dir / "text.gguf", "hello world, not a gguf", 23);
  expect_one_line_error(inspect(quoted(dir / "text.gguf")), "text.gguf");
  expect_one_line_error(inspect(quoted(fixture("tiny-mixed-split-00002-of-00002.gguf"))),
                        "first shard");
}

// ---- llama.cpp's files in ../shared/gguf ----

TEST(InspectShared, ReadsEveryLlamaCppFile) {
  QMIX_REQUIRE_SHARED(shared);
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(shared / "gguf")) {
    if (e.path().extension() != ".gguf") continue;
    SCOPED_TRACE(e.path().string());
    const json j = inspect_json(e.path());
    EXPECT_EQ(j["file"]["size"], std::filesystem::file_size(e.path()));
    EXPECT_LE(j["totals"]["tensors"]["bytes"].get<uint64_t>(), j["file"]["size"].get<uint64_t>());
    ++files;
  }
  EXPECT_GE(files, 20);
}

// "tiny-qwen3.Q4_K_M.gguf" → ("tiny-qwen3", "Q4_K_M").
std::pair<std::string, std::string> model_and_preset(const std::filesystem::path& p) {
  const std::string stem = p.stem().string();
  const size_t dot = stem.find('.');
  std::string preset = stem.substr(dot + 1);
  for (char& c : preset) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return {stem.substr(0, dot), preset};
}

// llama-quantize's record of each preset (presets-<model>.json: file type, tensor bytes, bpw and
// every tensor's type) must be what inspect reports for the files it wrote.
TEST(InspectShared, TypesAndBpwMatchLlamaQuantizesTables) {
  QMIX_REQUIRE_SHARED(shared);
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(shared / "gguf" / "quantized"))
    files.push_back(e.path());
  for (const auto& e : std::filesystem::directory_iterator(shared / "gguf"))
    if (e.path().string().ends_with(".bf16.gguf")) files.push_back(e.path());
  int checked = 0;
  for (const auto& f : files) {
    const auto [model, preset] = model_and_preset(f);
    const auto table_path = shared / "gguf" / "presets" / ("presets-" + model + ".json");
    if (!std::filesystem::exists(table_path)) continue;  // no table for this model
    SCOPED_TRACE(f.string());
    const json want = read_json(table_path)["presets"].at(preset);
    const json j = inspect_json(f);
    EXPECT_EQ(j["model"]["file_type"], want["file_type"]);
    EXPECT_EQ(j["totals"]["tensors"]["bytes"], want["tensor_bytes"]);
    EXPECT_NEAR(j["bpw"]["tensors"].get<double>(), want["bpw"].get<double>(), 0.5e-4 + 1e-9);
    std::map<std::string, int> histogram;
    for (const auto& [name, type] : want["types"].items()) histogram[type.get<std::string>()]++;
    for (const auto& t : j["types"]) {
      EXPECT_EQ(t["tensors"], histogram[t["type"].get<std::string>()]) << t["type"];
      histogram.erase(t["type"].get<std::string>());
    }
    EXPECT_TRUE(histogram.empty());
    ASSERT_EQ(j["tensors"].size(), want["types"].size());
    for (const auto& t : j["tensors"])
      EXPECT_EQ(t["type"], want["types"].at(t["name"].get<std::string>())) << t["name"];
    ++checked;
  }
  EXPECT_GE(checked, 9);  // 7 quantized files and the 3 bf16 conversions with tables
}

}  // namespace
}  // namespace qmix
