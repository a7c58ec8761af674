#include "recipe/recipe_toml.h"

#include <gtest/gtest.h>

namespace qmix {
namespace {

constexpr std::string_view kExample = R"(# a hand-written recipe
name = "hybrid-q4"
description = "example"
base = "Q4_K_M"
architecture = "qwen35"
layers = 8

[[rule]]
role = "ssm_out"
min = "q8_0"
provenance = "architecture"
reason = "recurrent error compounds over the sequence"

[[rule]]
role = ["ffn_gate", "ffn_up.weight"]
layers = "0-2,7"
type = "Q5_K"
provenance = "data"
reason = "imatrix: high activation energy"
evidence = { imatrix = "wiki", kld = 0.012, chunks = 40, checked = true }

[[rule]]
match = '^blk\.\d+\.attn_v\.'
layers = [3, "6-7"]
type = "q6_K"
max = "q8_0"
provenance = "manual"
reason = "keep V higher"
)";

TEST(RecipeToml, ParsesEveryField) {
  auto r = parse_recipe(kExample, "ex.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->name, "hybrid-q4");
  EXPECT_EQ(r->base, "Q4_K_M");
  EXPECT_EQ(r->architecture, "qwen35");
  EXPECT_EQ(r->layers, 8);
  ASSERT_EQ(r->rules.size(), 3u);
  const RecipeRule& a = r->rules[0];
  EXPECT_EQ(a.roles.size(), 1u);
  EXPECT_EQ(a.roles[0].role, Role::kSsmOut);
  EXPECT_FALSE(a.type.has_value());
  EXPECT_EQ(a.min_type, GgmlType::Q8_0);
  EXPECT_EQ(a.provenance, Provenance::kArchitecture);
  EXPECT_EQ(a.line, 8);
  const RecipeRule& b = r->rules[1];
  ASSERT_EQ(b.roles.size(), 2u);
  EXPECT_EQ(b.roles[1].suffix, "weight");
  EXPECT_EQ(b.layers->to_string(), "0-2,7");
  EXPECT_EQ(b.type, GgmlType::Q5_K);
  EXPECT_EQ(b.evidence.size(), 4u);
  EXPECT_EQ(b.line, 14);
  const RecipeRule& c = r->rules[2];
  EXPECT_EQ(c.match, R"(^blk\.\d+\.attn_v\.)");
  EXPECT_EQ(c.layers->to_string(), "3,6-7");
  EXPECT_EQ(c.max_type, GgmlType::Q8_0);
}

TEST(RecipeToml, WriteParseRoundTrip) {
  auto r = parse_recipe(kExample, "ex.toml");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const std::string text = write_recipe(*r);
  auto again = parse_recipe(text, "written.toml");
  ASSERT_TRUE(again.ok()) << again.error().message << "\n" << text;
  EXPECT_EQ(*again, *r) << text;
  EXPECT_EQ(write_recipe(*again), text);
}

// Each bad input gives one error naming file and line (and rule where there is one).
struct BadCase {
  const char* text;
  const char* expect;  // substring of the message
};

TEST(RecipeToml, BadInputIsOneClearError) {
  const BadCase cases[] = {
      {"name = \"x\"\n[[rule]\n", "bad.toml:2:"},
      {"name = \"x\"\nnmae = 1\n", "bad.toml:2: unknown key 'nmae'"},
      {"[[rule]]\nrole = \"ffn_down\"\ntype = \"q4_Q\"\nprovenance = \"data\"\nreason = \"r\"\n",
       "bad.toml:3: rule #1: type: unknown type 'q4_Q'"},
      {"[[rule]]\nmatch = \"blk.(\"\ntype = \"q4_K\"\nprovenance = \"data\"\nreason = \"r\"\n",
       "bad.toml:1: rule #1: bad regex 'blk.('"},
      {"[[rule]]\nrole = \"ffn_dwn\"\ntype = \"q4_K\"\nprovenance = \"data\"\nreason = \"r\"\n",
       "bad.toml:2: rule #1: unknown role 'ffn_dwn'"},
      {"[[rule]]\nrole = \"ffn_down\"\ntype = \"q4_K\"\nreason = \"r\"\n",
       "bad.toml:1: rule #1: needs provenance"},
      {"[[rule]]\nrole = \"ffn_down\"\ntype = \"q4_K\"\nprovenance = \"gut\"\nreason = \"r\"\n",
       "bad.toml:4: rule #1: unknown provenance 'gut'"},
      {"[[rule]]\nrole = \"ffn_down\"\nprovenance = \"data\"\nreason = \"r\"\n", "has no effect"},
      {"[[rule]]\nrole = \"ffn_down\"\ntype = \"q4_K\"\nprovenance = \"data\"\n", "needs a reason"},
      {"[[rule]]\nlayers = \"3-1\"\ntype = \"q4_K\"\nprovenance = \"data\"\nreason = \"r\"\n",
       "runs backwards"},
      {"layers = 4\n[[rule]]\nlayers = \"2-5\"\ntype = \"q4_K\"\nprovenance = \"data\"\nreason = "
       "\"r\"\n",
       "layer 5 is outside the recipe's 4 blocks"},
      {"[[rule]]\nmin = \"q8_0\"\nmax = \"q4_K\"\nprovenance = \"data\"\nreason = \"r\"\n",
       "min q8_0 is above max q4_K"},
      {"[[rule]]\ntype = \"q4_K\"\nprovenance = \"data\"\nreason = \"r\"\nevidence = { a = [1] }\n",
       "evidence 'a' must be a string, number or boolean"},
  };
  for (const BadCase& c : cases) {
    auto r = parse_recipe(c.text, "bad.toml");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos)
        << "message: " << r.error().message << "\nexpected: " << c.expect;
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << r.error().message;
  }
}

TEST(LayerSetTest, ParsesMergesAndPrints) {
  auto s = LayerSet::parse("7, 0-2,3,12-16,15");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->to_string(), "0-3,7,12-16");
  EXPECT_TRUE(s->contains(14));
  EXPECT_FALSE(s->contains(5));
  EXPECT_FALSE(LayerSet::parse("1,,2").ok());
  EXPECT_FALSE(LayerSet::parse("-1").ok());
  EXPECT_FALSE(LayerSet::parse("a-3").ok());
}

TEST(LayerSetTest, ScalesProportionally) {
  auto s = LayerSet::parse("0,3,6-7");  // llama.cpp's Q4_K_M ffn_down bump on 8 blocks
  ASSERT_TRUE(s.ok());
  // On 16 blocks each block becomes two; on 4 blocks ranges shrink but never vanish.
  EXPECT_EQ(s->scaled(8, 16).to_string(), "0-1,6-7,12-15");
  EXPECT_EQ(s->scaled(8, 4).to_string(), "0-1,3");
  EXPECT_EQ(s->scaled(8, 8), *s);
}

}  // namespace
}  // namespace qmix
