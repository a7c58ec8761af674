// The plan's rules on synthetic models: flags, rules and their precedence, fallbacks, MoE and
// GQA adjustments. Expected types follow llama.cpp's llama-quant.cpp rules as documented in
// each test; the full per-preset agreement is checked on real models in
// preset_tables_shared_test.cpp.
#include <gtest/gtest.h>

#include "recipe/presets.h"
#include "recipe/tensor_plan.h"

namespace qmix {
namespace {

using G = GgmlType;

struct ModelShape {
  std::string arch = "llama";
  int layers = 8;
  int64_t embd = 256;
  int64_t ffn = 512;
  int heads = 4;
  int kv_heads = 2;
  int experts = 0;
  bool tied = false;
};

PlanModel make_model(const ModelShape& s) {
  PlanModel m;
  m.arch = s.arch;
  m.n_layer = s.layers;
  m.n_head = s.heads;
  m.n_head_kv = s.kv_heads;
  m.n_expert = s.experts;
  const int64_t kv = s.embd / s.heads * s.kv_heads;
  m.tensors.push_back({"token_embd.weight", {s.embd, 1000}, G::BF16});
  if (!s.tied) m.tensors.push_back({"output.weight", {s.embd, 1000}, G::BF16});
  m.tensors.push_back({"output_norm.weight", {s.embd}, G::F32});
  for (int i = 0; i < s.layers; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    m.tensors.push_back({b + "attn_norm.weight", {s.embd}, G::F32});
    m.tensors.push_back({b + "attn_q.weight", {s.embd, s.embd}, G::BF16});
    m.tensors.push_back({b + "attn_k.weight", {s.embd, kv}, G::BF16});
    m.tensors.push_back({b + "attn_v.weight", {s.embd, kv}, G::BF16});
    m.tensors.push_back({b + "attn_output.weight", {s.embd, s.embd}, G::BF16});
    m.tensors.push_back({b + "ffn_norm.weight", {s.embd}, G::F32});
    if (s.experts > 0) {
      m.tensors.push_back({b + "ffn_gate_inp.weight", {s.embd, s.experts}, G::F32});
      m.tensors.push_back({b + "ffn_gate_exps.weight", {s.embd, s.ffn, s.experts}, G::BF16});
      m.tensors.push_back({b + "ffn_up_exps.weight", {s.embd, s.ffn, s.experts}, G::BF16});
      m.tensors.push_back({b + "ffn_down_exps.weight", {s.ffn, s.embd, s.experts}, G::BF16});
    } else {
      m.tensors.push_back({b + "ffn_gate.weight", {s.embd, s.ffn}, G::BF16});
      m.tensors.push_back({b + "ffn_up.weight", {s.embd, s.ffn}, G::BF16});
      m.tensors.push_back({b + "ffn_down.weight", {s.ffn, s.embd}, G::BF16});
    }
  }
  return m;
}

PlanOptions options_for(std::string_view preset) {
  PlanOptions o;
  auto p = find_preset(preset);
  EXPECT_TRUE(p.ok());
  o.preset = *p;
  return o;
}

const TensorDecision& find(const QuantPlan& plan, std::string_view name) {
  for (const auto& t : plan.tensors)
    if (t.name == name) return t;
  ADD_FAILURE() << "no tensor " << name;
  return plan.tensors.front();
}

QuantPlan plan_of(const ModelShape& shape, const PlanOptions& options) {
  auto plan = compute_plan(make_model(shape), options);
  EXPECT_TRUE(plan.ok()) << plan.error().message;
  return plan.ok() ? std::move(*plan) : QuantPlan{};
}

TEST(Presets, NamesAliasesAndNumbers) {
  EXPECT_EQ((*find_preset("q4_k_m"))->ftype, Ftype::kQ4_K_M);
  EXPECT_EQ((*find_preset("Q4_K"))->ftype, Ftype::kQ4_K_M);
  EXPECT_EQ((*find_preset("15"))->ftype, Ftype::kQ4_K_M);
  EXPECT_EQ((*find_preset("MXFP4_MOE"))->default_type, G::MXFP4);
  EXPECT_EQ((*find_preset("IQ2_S"))->default_type, G::IQ2_XS);
  auto bad = find_preset("Q4_K_X");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("Q4_K_M"), std::string::npos) << "lists the valid names";
  EXPECT_FALSE(find_preset("4").ok()) << "ftype 4 is not a preset";
  EXPECT_EQ(all_presets().size(), 33u);
}

TEST(TensorPlan, NormsAndOneDimensionalTensorsKeepTheirType) {
  const auto plan = plan_of({}, options_for("Q4_K_M"));
  const auto& norm = find(plan, "blk.0.attn_norm.weight");
  EXPECT_EQ(norm.type, G::F32);
  EXPECT_FALSE(norm.quantizable);
  EXPECT_EQ(norm.step, DecisionStep::kNotQuantized);
}

TEST(TensorPlan, OrderIsBlockThenName) {
  const auto plan = plan_of({.layers = 12}, options_for("Q8_0"));
  EXPECT_EQ(plan.tensors[0].name, "output.weight");
  EXPECT_EQ(plan.tensors[1].name, "output_norm.weight");
  EXPECT_EQ(plan.tensors[2].name, "token_embd.weight");
  EXPECT_EQ(plan.tensors[3].name, "blk.0.attn_k.weight");
  EXPECT_EQ(plan.tensors.back().name, "blk.11.ffn_up.weight") << "blk.11 after blk.2";
}

TEST(TensorPlan, Q4KMRaisesAttnVAndFfnDownInMoreBitsLayers) {
  // use_more_bits(i, 8): i < 1 || i >= 7 || (i - 1) % 3 == 2  →  layers 0, 3, 6, 7.
  const auto plan = plan_of({.layers = 8}, options_for("Q4_K_M"));
  for (int i = 0; i < 8; ++i) {
    const bool more = i == 0 || i == 3 || i == 6 || i == 7;
    const std::string b = "blk." + std::to_string(i) + ".";
    EXPECT_EQ(find(plan, b + "attn_v.weight").type, more ? G::Q6_K : G::Q4_K) << i;
    EXPECT_EQ(find(plan, b + "ffn_down.weight").type, more ? G::Q6_K : G::Q4_K) << i;
    EXPECT_EQ(find(plan, b + "attn_q.weight").type, G::Q4_K);
  }
  EXPECT_EQ(find(plan, "output.weight").type, G::Q6_K);
  EXPECT_EQ(find(plan, "token_embd.weight").type, G::Q4_K);
}

TEST(TensorPlan, TiedEmbeddingsAreTreatedAsTheOutputMatrix) {
  const auto plan = plan_of({.tied = true}, options_for("Q4_K_M"));
  EXPECT_EQ(find(plan, "token_embd.weight").type, G::Q6_K);
  PlanOptions o = options_for("Q4_K_M");
  o.output_type = G::Q8_0;
  EXPECT_EQ(find(plan_of({.tied = true}, o), "token_embd.weight").type, G::Q8_0);
  o.token_embd_type = G::Q4_0;
  EXPECT_EQ(find(plan_of({.tied = true}, o), "token_embd.weight").type, G::Q4_0);
}

TEST(TensorPlan, GqaOfFourOrMoreRaisesAttnV) {
  // Q2_K: attn_v Q4_K when n_head / n_head_kv >= 4, else Q3_K.
  EXPECT_EQ(
      find(plan_of({.heads = 8, .kv_heads = 2}, options_for("Q2_K")), "blk.1.attn_v.weight").type,
      G::Q4_K);
  EXPECT_EQ(
      find(plan_of({.heads = 4, .kv_heads = 2}, options_for("Q2_K")), "blk.1.attn_v.weight").type,
      G::Q3_K);
}

TEST(TensorPlan, EightExpertMoeAdjustments) {
  const ModelShape moe{.arch = "qwen3moe", .layers = 4, .experts = 8};
  auto plan = plan_of(moe, options_for("Q4_K_M"));
  EXPECT_EQ(find(plan, "blk.0.attn_v.weight").type, G::Q8_0);
  EXPECT_EQ(find(plan, "blk.2.attn_k.weight").type, G::Q8_0);
  EXPECT_EQ(find(plan, "blk.2.attn_output.weight").type, G::Q5_K);
  // use_more_bits(i, 4) by the block in the name: i >= 7*4/8 = 3 or (i - 0) % 3 == 2.
  EXPECT_EQ(find(plan, "blk.0.ffn_down_exps.weight").type, G::Q4_K);
  EXPECT_EQ(find(plan, "blk.1.ffn_down_exps.weight").type, G::Q4_K);
  EXPECT_EQ(find(plan, "blk.2.ffn_down_exps.weight").type, G::Q6_K);
  EXPECT_EQ(find(plan, "blk.3.ffn_down_exps.weight").type, G::Q6_K);
  EXPECT_EQ(find(plan, "blk.1.ffn_gate_inp.weight").type, G::F32) << "routers stay";
  plan = plan_of(moe, options_for("MXFP4_MOE"));
  EXPECT_EQ(find(plan, "blk.1.ffn_up_exps.weight").type, G::MXFP4);
  EXPECT_EQ(find(plan, "blk.1.attn_q.weight").type, G::Q8_0);
  EXPECT_EQ(find(plan, "output.weight").type, G::Q8_0);
}

TEST(TensorPlan, RowsThatDoNotFitFallBack) {
  // 96 values per row: not a multiple of 256; Q4_K falls back to Q5_0 (blocks of 32).
  ModelShape s{.embd = 96, .ffn = 64, .heads = 3, .kv_heads = 3};
  auto plan = plan_of(s, options_for("Q4_K_S"));
  const auto& q = find(plan, "blk.2.attn_q.weight");
  EXPECT_EQ(q.type, G::Q5_0);
  EXPECT_TRUE(q.fell_back);
  EXPECT_GT(plan.n_fell_back, 0);
  // Output rows that do not fit the preset type's blocks go to Q8_0 (before any fallback).
  EXPECT_EQ(find(plan, "output.weight").type, G::Q8_0);
  // Rows of 100 values fit no quantized block: Q2_K's ffn_down (Q3_K) ends at F16.
  s.ffn = 100;
  plan = plan_of(s, options_for("Q2_K"));
  EXPECT_EQ(find(plan, "blk.2.ffn_down.weight").type, G::F16);
  // Q8_0 has no fallback (as in llama.cpp): an error naming the tensor.
  PlanOptions o = options_for("Q8_0");
  auto failed = compute_plan(make_model(s), o);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("ffn_down"), std::string::npos) << failed.error().message;
}

TEST(TensorPlan, FirstMatchingRuleWinsAndSkipsThePresetCounters) {
  PlanOptions o = options_for("Q3_K_M");
  o.rules.push_back({"blk\\.0\\.attn_v", G::Q8_0, "manual", "--tensor-type blk\\.0\\.attn_v=q8_0"});
  o.rules.push_back({"attn_v", G::IQ4_XS, "manual", "--tensor-type attn_v=iq4_xs"});
  o.rules.push_back({"nothing_matches_this", G::Q8_0, "manual", "--tensor-type x=q8_0"});
  auto plan = plan_of({.layers = 8}, o);
  const auto& v0 = find(plan, "blk.0.attn_v.weight");
  EXPECT_EQ(v0.type, G::Q8_0);
  EXPECT_EQ(v0.step, DecisionStep::kRule);
  EXPECT_EQ(v0.reason, "--tensor-type blk\\.0\\.attn_v=q8_0");
  EXPECT_EQ(find(plan, "blk.5.attn_v.weight").type, G::IQ4_XS);
  ASSERT_EQ(plan.unused_rules.size(), 1u);
  EXPECT_EQ(plan.unused_rules[0], "--tensor-type x=q8_0");

  // Q3_K_M gives the first two attn_v it decides Q5_K; a rule-decided tensor does not count.
  o.rules.resize(1);
  plan = plan_of({.layers = 8}, o);
  EXPECT_EQ(find(plan, "blk.1.attn_v.weight").type, G::Q5_K);
  EXPECT_EQ(find(plan, "blk.2.attn_v.weight").type, G::Q5_K);
  EXPECT_EQ(find(plan, "blk.3.attn_v.weight").type, G::Q4_K);
}

TEST(TensorPlan, RulesSearchTheNameAndBadRegexIsAnError) {
  PlanOptions o = options_for("Q4_0");
  o.rules.push_back({"ffn_(up|gate)\\.", G::Q8_0, "manual", ""});
  EXPECT_EQ(find(plan_of({}, o), "blk.3.ffn_up.weight").type, G::Q8_0);
  EXPECT_EQ(find(plan_of({}, o), "blk.3.ffn_gate.weight").type, G::Q8_0);
  EXPECT_EQ(find(plan_of({}, o), "blk.3.ffn_down.weight").type, G::Q4_0);
  o.rules = {{"attn_[v", G::Q8_0, "manual", "--tensor-type attn_[v=q8_0"}};
  auto plan = compute_plan(make_model({}), o);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message.find("--tensor-type attn_[v=q8_0"), std::string::npos)
      << plan.error().message;
}

TEST(TensorPlan, PureLeaveOutputAndFloatPresets) {
  PlanOptions o = options_for("Q4_K_M");
  o.mix = MixMode::kPure;
  auto plan = plan_of({}, o);
  EXPECT_EQ(find(plan, "blk.0.attn_v.weight").type, G::Q4_K);
  EXPECT_EQ(find(plan, "output.weight").type, G::Q4_K);
  o.mix = MixMode::kPreset;
  o.output_tensor = OutputTensorMode::kLeaveAsIs;
  EXPECT_EQ(find(plan_of({}, o), "output.weight").type, G::BF16);
  plan = plan_of({}, options_for("F16"));
  EXPECT_EQ(find(plan, "blk.0.attn_v.weight").type, G::F16);
  EXPECT_EQ(find(plan, "blk.0.attn_norm.weight").type, G::F32);
}

TEST(TensorPlan, ImatrixRequirements) {
  auto plan = plan_of({}, options_for("IQ2_XXS"));
  EXPECT_TRUE(plan.needs_imatrix());
  EXPECT_TRUE(find(plan, "blk.3.ffn_up.weight").requires_imatrix);
  EXPECT_FALSE(find(plan, "token_embd.weight").requires_imatrix);
  EXPECT_TRUE(find(plan_of({}, options_for("Q2_K_S")), "blk.3.ffn_up.weight").requires_imatrix);
  EXPECT_FALSE(plan_of({}, options_for("Q2_K")).needs_imatrix());
  EXPECT_FALSE(plan_of({}, options_for("Q4_K_M")).needs_imatrix());
}

TEST(TensorPlan, TotalsAndHistogram) {
  const auto plan = plan_of({.layers = 2}, options_for("Q8_0"));
  uint64_t bytes = 0;
  for (const auto& [type, totals] : plan.histogram()) bytes += totals.bytes;
  EXPECT_EQ(bytes, plan.bytes());
  // Q8_0: 34 bytes per 32 values; norms F32.
  EXPECT_EQ(find(plan, "blk.0.attn_q.weight").bytes, 256u * 256u / 32u * 34u);
  EXPECT_NEAR(plan.bits_per_weight_quantizable(), 8.5, 1e-9);
  EXPECT_GT(plan.bits_per_weight(), 8.5);
}

}  // namespace
}  // namespace qmix
