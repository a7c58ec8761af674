// `qmix recipe …` end to end through the binary: outputs, exit codes, one-line errors, and no
// output file when a command fails.
#include <gtest/gtest.h>

#include <map>

#include "model/synth.h"
#include "recipe/recipe_test_util.h"
#include "recipe/recipe_toml.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

using test::CommandResult;

CommandResult qmix(const std::string& args) {
  return test::run_command(test::qmix_binary().string() + " recipe " + args);
}

std::string q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

void expect_one_line_error(const CommandResult& r, const std::string& contains) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << r.err;
  EXPECT_EQ(r.err.rfind("qmix: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(contains), std::string::npos) << r.err;
}

class RecipeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = dir_ / "ud.gguf";
    test::write_gguf(model_, test::model_of(test::ud_like_hybrid(28), "ud.gguf"));
  }
  void write(const std::string& name, const std::string& text) {
    test::write_bytes(dir_ / name, text.data(), text.size());
  }
  test::TempDir dir_;
  std::filesystem::path model_;
};

TEST_F(RecipeCli, ExtractThenApplyIsClean) {
  const auto r = qmix("extract " + q(model_) + " -o " + q(dir_ / "ud.toml"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("all 276 types identical"), std::string::npos) << r.err;
  const auto applied =
      qmix("apply " + q(dir_ / "ud.toml") + " " + q(model_) + " --dry-run --strict");
  EXPECT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_NE(
      applied.out.find("276 of 276 tensors decided, 0 rules unused, 0 shape problems, 0 conflicts"),
      std::string::npos)
      << applied.out;
  const auto explained = qmix("explain " + q(dir_ / "ud.toml") + " " + q(model_));
  EXPECT_EQ(explained.exit_code, 0) << explained.err;
  EXPECT_EQ(std::count(explained.out.begin(), explained.out.end(), '\n'), 277);
  const auto diff = qmix("diff " + q(dir_ / "ud.toml") + " " + q(model_));
  EXPECT_EQ(diff.exit_code, 0) << diff.err;
  EXPECT_NE(diff.out.find("changed 0 of 276 tensors"), std::string::npos) << diff.out;
  const auto show = qmix("show " + q(dir_ / "ud.toml"));
  EXPECT_EQ(show.exit_code, 0) << show.err;
  EXPECT_LT(show.out.find("architecture rules:"), show.out.find("data rules:")) << show.out;
}

TEST_F(RecipeCli, BadRecipesAreOneLineErrors) {
  write("syntax.toml", "name = \"x\"\n[[rule]\ntype = \"q4_K\"\n");
  expect_one_line_error(qmix("show " + q(dir_ / "syntax.toml")), "syntax.toml:2: invalid TOML");
  write("regex.toml",
        "[[rule]]\nmatch = 'blk.(['\ntype = \"q4_K\"\nprovenance = \"data\"\nreason = \"r\"\n");
  expect_one_line_error(qmix("apply " + q(dir_ / "regex.toml") + " " + q(model_) + " --dry-run"),
                        "regex.toml:1: rule #1: bad regex 'blk.(['");
  write("type.toml", "[[rule]]\ntype = \"q4_Q\"\nprovenance = \"data\"\nreason = \"r\"\n");
  expect_one_line_error(qmix("explain " + q(dir_ / "type.toml") + " " + q(model_)),
                        "type.toml:2: rule #1: type: unknown type 'q4_Q'");
  expect_one_line_error(qmix("show " + q(dir_ / "missing.toml")), "cannot open recipe");
  expect_one_line_error(qmix("extract " + q(dir_ / "type.toml")), "type.toml");
}

TEST_F(RecipeCli, FailuresWriteNothing) {
  ASSERT_EQ(qmix("extract " + q(model_) + " -o " + q(dir_ / "ud.toml")).exit_code, 0);
  // A recipe for 28 blocks on a model of 8: ranges do not fit unless scaled.
  const auto small = dir_ / "small.gguf";
  test::write_gguf(small, test::model_of(test::ud_like_hybrid(8), "small.gguf"));
  const auto out = dir_ / "out.toml";
  expect_one_line_error(qmix("transfer " + q(dir_ / "ud.toml") + " " + q(small) + " -o " + q(out)),
                        "pass --scale-layers");
  EXPECT_FALSE(std::filesystem::exists(out));
  // Scaled, it applies but is not clean: --strict refuses and still writes nothing.
  const auto strict = qmix("transfer " + q(dir_ / "ud.toml") + " " + q(small) +
                           " --scale-layers --strict -o " + q(out));
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_FALSE(std::filesystem::exists(out));
  const auto scaled =
      qmix("transfer " + q(dir_ / "ud.toml") + " " + q(small) + " --scale-layers -o " + q(out));
  ASSERT_EQ(scaled.exit_code, 0) << scaled.err;
  auto adapted = load_recipe(out);
  ASSERT_TRUE(adapted.ok()) << adapted.error().message;
  EXPECT_EQ(adapted->layers, 8);
  expect_one_line_error(qmix("apply " + q(out) + " " + q(small)), "--dry-run");
}

TEST_F(RecipeCli, ExportImportRoundTrip) {
  ASSERT_EQ(qmix("extract " + q(model_) + " -o " + q(dir_ / "ud.toml")).exit_code, 0);
  for (const std::string format : {"llama-quantize", "tensor-type-file", "ik-custom-q"}) {
    SCOPED_TRACE(format);
    const auto exported = qmix("export " + q(dir_ / "ud.toml") + " --format " + format + " -o " +
                               q(dir_ / "args.txt"));
    ASSERT_EQ(exported.exit_code, 0) << exported.err;
    const auto imported = qmix("import " + q(dir_ / "args.txt") + " --format " +
                               (format == "ik-custom-q" ? format : "llama-quantize") + " -o " +
                               q(dir_ / "back.toml"));
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    const auto diff = qmix("diff " + q(dir_ / "back.toml") + " " + q(model_));
    EXPECT_NE(diff.out.find("changed 0 of 276 tensors"), std::string::npos) << diff.out << diff.err;
  }
  // Floors cannot be exported as such; resolved on a model they can.
  write("floor.toml",
        "[[rule]]\ntype = \"q4_K\"\nprovenance = \"data\"\nreason = \"r\"\n[[rule]]\nrole = "
        "\"ssm_out\"\nmin = \"q8_0\"\nprovenance = \"architecture\"\nreason = \"r\"\n");
  expect_one_line_error(qmix("export " + q(dir_ / "floor.toml")), "pass --model");
  const auto baked = qmix("export " + q(dir_ / "floor.toml") + " --model " + q(model_));
  EXPECT_EQ(baked.exit_code, 0) << baked.err;
  EXPECT_NE(baked.out.find("ssm_out"), std::string::npos) << baked.out;
  expect_one_line_error(qmix("import --string 'ffn_down=q9_K'"), "unknown type 'q9_K'");
}

// `qmix quantize --recipe`: TYPE defaults to the recipe's base, floors hold, the output carries
// the recipe and `recipe extract` returns it verbatim.
TEST(RecipeCliQuantize, QuantizeWithARecipe) {
  test::TempDir dir;
  SynthSpec spec;
  spec.layers = 4;
  spec.hidden = 256;
  spec.ffn = 512;
  spec.vocab = 512;
  ASSERT_TRUE(write_synthetic_model(spec, dir / "m.gguf").ok());
  const std::string recipe_text = R"(name = "small"
base = "Q4_K_M"
[[rule]]
role = ["ffn_gate", "ffn_up"]
layers = "1-2"
type = "q8_0"
provenance = "data"
reason = "measured sensitive"
[[rule]]
role = "attn_output"
min = "q6_K"
provenance = "architecture"
reason = "floor"
)";
  test::write_bytes(dir / "r.toml", recipe_text.data(), recipe_text.size());
  const std::string quantize = test::qmix_binary().string() + " quantize --recipe " +
                               q(dir / "r.toml") + " " + q(dir / "m.gguf");
  const auto out = quantize + " " + q(dir / "q.gguf");
  const auto r = test::run_command(out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto model = read_model_tensors(dir / "q.gguf");
  ASSERT_TRUE(model.ok()) << model.error().message;
  std::map<std::string, GgmlType> types;
  for (const TensorDesc& t : model->tensors) types[t.name] = t.type;
  EXPECT_EQ(types.at("blk.1.ffn_up.weight"), GgmlType::Q8_0);
  EXPECT_EQ(types.at("blk.2.ffn_gate.weight"), GgmlType::Q8_0);
  EXPECT_EQ(types.at("blk.0.ffn_up.weight"), GgmlType::Q4_K);
  for (int b = 0; b < 4; ++b)
    EXPECT_EQ(types.at(fmt::format("blk.{}.attn_output.weight", b)), GgmlType::Q6_K);
  const auto extracted = qmix("extract " + q(dir / "q.gguf"));
  ASSERT_EQ(extracted.exit_code, 0) << extracted.err;
  auto embedded = parse_recipe(extracted.out, "embedded");
  ASSERT_TRUE(embedded.ok()) << extracted.out;
  EXPECT_EQ(embedded->name, "small");
  EXPECT_EQ(embedded->rules.size(), 2u);
  EXPECT_NE(extracted.err.find("returned it verbatim"), std::string::npos);
  // The dry run shows the recipe's rules as the deciders.
  const auto dry = test::run_command(quantize + " --dry-run");
  EXPECT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("r.toml: rule #1 (line 3, data)"), std::string::npos) << dry.out;
  // A recipe error stops quantize with one line and no output.
  test::write_bytes(dir / "bad.toml", "base = \"Q9\"\n", 11);
  const auto bad =
      test::run_command(test::qmix_binary().string() + " quantize --recipe " + q(dir / "bad.toml") +
                        " " + q(dir / "m.gguf") + " " + q(dir / "never.gguf"));
  expect_one_line_error(bad, "base: ");
  EXPECT_FALSE(std::filesystem::exists(dir / "never.gguf"));
}

TEST(RecipeCliShared, ExtractsLlamaCppQ4KM) {
  QMIX_REQUIRE_SHARED(shared);
  const auto model = shared / "gguf" / "quantized" / "tiny-qwen35.Q4_K_M.gguf";
  const auto r = qmix("extract " + q(model));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto recipe = parse_recipe(r.out, "stdout");
  ASSERT_TRUE(recipe.ok()) << recipe.error().message;
  EXPECT_EQ(recipe->architecture, "qwen35");
  EXPECT_EQ(recipe->layers, 8);
  EXPECT_NE(r.err.find("types identical"), std::string::npos) << r.err;
}

// `recipe derive` on the tiny model: a base recipe extracted from llama.cpp's Q4_K_M, refined
// by the reasoning vs wiki imatrices (docs/recipe.md shows this run).
TEST(RecipeCliShared, DeriveFromTinyQwen3Imatrices) {
  QMIX_REQUIRE_SHARED(shared);
  const auto gguf = shared / "gguf";
  const auto model = gguf / "quantized" / "tiny-qwen3.Q4_K_M.gguf";
  test::TempDir dir;
  const auto base = dir / "base.toml";
  ASSERT_EQ(qmix("extract " + q(model) + " -o " + q(base)).exit_code, 0);
  const std::string inputs = " --base " + q(base) + " --domain " +
                             q(gguf / "imatrix" / "tiny-qwen3.reasoning.imatrix.gguf") +
                             " --generic " + q(gguf / "imatrix" / "tiny-qwen3.wiki.imatrix.gguf");
  const auto out = dir / "derived.toml";
  const auto r = qmix("derive" + inputs + " --level 3 --model " + q(model) + " -o " + q(out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("sizes on tiny-qwen3.Q4_K_M.gguf"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("level 3"), std::string::npos) << r.err;
  auto derived = load_recipe(out);
  auto original = load_recipe(base);
  ASSERT_TRUE(derived.ok() && original.ok());
  ASSERT_GT(derived->rules.size(), original->rules.size());
  for (size_t i = 0; i < original->rules.size(); ++i)
    EXPECT_EQ(derived->rules[i], original->rules[i]) << "base rule " << i << " changed";
  for (size_t i = original->rules.size(); i < derived->rules.size(); ++i) {
    EXPECT_EQ(derived->rules[i].provenance, Provenance::kData);
    EXPECT_FALSE(derived->rules[i].evidence.empty());
  }
  const auto applied = qmix("apply " + q(out) + " " + q(model) + " --dry-run --strict");
  EXPECT_EQ(applied.exit_code, 0) << applied.out << applied.err;

  const auto bad = dir / "bad.toml";
  expect_one_line_error(qmix("derive" + inputs + " --level 4 -o " + q(bad)), "level");
  expect_one_line_error(
      qmix("derive --base " + q(base) + " --domain " + q(dir / "missing.imatrix") + " --generic " +
           q(dir / "missing.imatrix") + " --level 1 -o " + q(bad)),
      "missing.imatrix");
  expect_one_line_error(qmix("derive" + inputs + " --level 1 -o " + q(base)), "also an input");
  EXPECT_FALSE(std::filesystem::exists(bad));
  auto unchanged = load_recipe(base);
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ(*unchanged, *original);
}

}  // namespace
}  // namespace qmix
