#include "recipe/quant_policy.h"

#include <array>
#include <initializer_list>

namespace qmix {
namespace {

using F = Ftype;
using G = GgmlType;
using C = PolicyCategory;

// ---------------------------------------------------------------------------------------------
// Vocabulary of the rule tables
// ---------------------------------------------------------------------------------------------

// Facts about a tensor in its model; a rule applies when all of its `when` bits hold.
enum Fact : uint32_t {
  kTied = 1u << 0,                 // embeddings tied to the output
  kFalcon = 1u << 1,               // falcon architecture
  kNotFalcon = 1u << 2,            //
  kGqa4 = 1u << 3,                 // n_head / n_head_kv >= 4 (integer division, layer 0)
  kExperts4 = 1u << 4,             // n_expert >= 4
  kExperts8 = 1u << 5,             // n_expert == 8
  kModel70B = 1u << 6,             // llama.cpp's LLM_TYPE_70B
  kImatrix = 1u << 7,              // an importance matrix is used
  kNoImatrix = 1u << 8,            //
  kRowNotBlockMultiple = 1u << 9,  // row length not a multiple of the preset type's block
  kMultiExpert = 1u << 10,         // 3-D tensor with more than one expert (ne[2] > 1)
  // Position i of n along the category's sequence (see Position below).
  kFirstEighth = 1u << 11,     // i < n/8
  kFirstSixteenth = 1u << 12,  // i < n/16
  kMoreBits = 1u << 13,        // i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2
  kMiddle = 1u << 14,          // n/8 <= i < 7n/8
  kBelow2 = 1u << 15,          // i < 2
  kBelow4 = 1u << 16,          // i < 4
};

constexpr uint64_t presets(std::initializer_list<Ftype> list) {
  uint64_t mask = 0;
  for (Ftype f : list) mask |= uint64_t{1} << static_cast<uint32_t>(f);
  return mask;
}
constexpr uint64_t types(std::initializer_list<GgmlType> list) {
  uint64_t mask = 0;
  for (GgmlType t : list) mask |= uint64_t{1} << static_cast<uint32_t>(t);
  return mask;
}
constexpr uint64_t kAnyPreset = ~uint64_t{0};
constexpr uint64_t kAnyType = ~uint64_t{0};
constexpr uint32_t kAlways = 0;

// One rule: for the presets in `presets`, when the facts in `when` hold and the type chosen so
// far is in `from`, choose `to` (nullopt: keep the type chosen so far). The first applicable
// rule of a stage decides; later rules of the stage are not looked at.
struct PolicyRule {
  uint64_t presets;
  uint32_t when;
  std::optional<GgmlType> to;
  std::string_view why;
  uint64_t from = kAnyType;
};

// Where "position i of n" comes from for a section's layer rules, and which counter the
// section advances. llama.cpp counts attn_v-like tensors in processing order; for the FFN it
// counts tensors too, except that MoE models (n_expert > 1) read the block from the name.
enum class Position : uint8_t {
  kNone,
  kAttnVCounter,    // i = attn_v-like tensors seen, n = all attn_v-like tensors
  kFfnDownCounter,  // i = ffn_down tensors seen, n = n_layer
  kFfnDownLayer,    // as above, or the block index for MoE models
  kFfnGateLayer,
  kFfnUpLayer,
};

// A section is one branch of llama.cpp's decision: the first section whose categories,
// presets and facts match the tensor takes it (even if none of its rules then applies).
// Its stages run in order, each picking at most one rule.
struct PolicySection {
  uint32_t categories;  // bit per PolicyCategory
  uint64_t presets;
  uint32_t when;
  Position position;
  std::array<std::span<const PolicyRule>, 3> stages;
  bool output_matrix = false;  // --output-tensor-type decides here (tied embeddings)
};

constexpr uint32_t cats(std::initializer_list<PolicyCategory> list) {
  uint32_t mask = 0;
  for (PolicyCategory c : list) mask |= 1u << static_cast<uint32_t>(c);
  return mask;
}
constexpr uint32_t kAnyCategory = ~0u;

// Presets that share rules.
constexpr uint64_t kIq2Family =
    presets({F::kIQ2_XXS, F::kIQ2_XS, F::kIQ1_S, F::kIQ2_S, F::kIQ2_M, F::kIQ1_M});
constexpr uint64_t kIq2SM = presets({F::kIQ2_S, F::kIQ2_M});

// ---------------------------------------------------------------------------------------------
// The rules (llama.cpp src/llama-quant.cpp, llama_tensor_get_type_impl, May 2026)
// ---------------------------------------------------------------------------------------------

// The output matrix (and token_embd when it doubles as the output): higher precision.
constexpr PolicyRule kOutputRules[] = {
    {presets({F::kMXFP4_MOE}), kAlways, G::Q8_0, "MXFP4_MOE keeps the output matrix at Q8_0"},
    {kAnyPreset, kFalcon, G::Q8_0, "falcon output matrix at Q8_0"},
    {kAnyPreset, kRowNotBlockMultiple, G::Q8_0, "output rows do not fit the preset's blocks"},
    {presets({F::kIQ2_XXS, F::kIQ2_XS, F::kIQ3_XXS, F::kIQ1_S, F::kIQ2_S, F::kIQ2_M, F::kIQ1_M}),
     kAlways, G::Q5_K, "output matrix at Q5_K for the very-low-bit presets"},
    {presets({F::kQ8_0}), kAlways, std::nullopt, "output matrix stays at Q8_0"},
    {kAnyPreset, kAlways, G::Q6_K, "output matrix at Q6_K"},
};

// MXFP4_MOE: experts in MXFP4, everything else Q8_0.
constexpr PolicyRule kMxfp4Rules[] = {
    {kAnyPreset, kMultiExpert, G::MXFP4, "MXFP4_MOE: expert tensors in MXFP4"},
    {kAnyPreset, kAlways, G::Q8_0, "MXFP4_MOE: non-expert tensors at Q8_0"},
};

// Untied token embeddings (a lookup table, cheap to keep a little wider at very low bits).
constexpr PolicyRule kTokenEmbdRules[] = {
    {presets({F::kIQ2_XXS, F::kIQ2_XS, F::kIQ1_S, F::kIQ1_M}), kAlways, G::Q2_K,
     "token embeddings at Q2_K for the lowest-bit presets"},
    {kIq2SM, kAlways, G::IQ3_S, "token embeddings at IQ3_S"},
    {presets({F::kIQ3_XXS}), kAlways, G::IQ3_S, "token embeddings at IQ3_S"},
    {presets({F::kTQ1_0, F::kTQ2_0}), kAlways, G::Q4_K, "ternary presets keep embeddings at Q4_K"},
};

// The IQ1/IQ2 family: a branch of its own that precedes the per-category rules below.
constexpr PolicyRule kIq2AttnVRules[] = {
    {kAnyPreset, kGqa4, G::Q4_K, "attn_v at Q4_K (GQA >= 4: attn_v is small)"},
    {kAnyPreset, kExperts4, G::Q4_K, "attn_v at Q4_K (>= 4 experts)"},
    {kIq2SM, kAlways, G::IQ3_S, "attn_v raised to IQ3_S"},
    {kAnyPreset, kAlways, G::Q2_K, "attn_v raised to Q2_K"},
};
constexpr PolicyRule kIq2AttnKRules[] = {
    {kAnyPreset, kExperts8, G::Q4_K, "attn_k at Q4_K (8 experts)"},
};
constexpr PolicyRule kIq2FfnDownRules[] = {
    {kIq2SM, kFirstEighth, G::IQ3_S, "ffn_down of the first eighth of layers at IQ3_S"},
    {kAnyPreset, kFirstEighth, G::Q2_K, "ffn_down of the first eighth of layers at Q2_K"},
};
constexpr PolicyRule kIq2AttnOutputRules[] = {
    {kAnyPreset, kExperts8, G::Q5_K, "attn_output at Q5_K (8 experts)"},
    {presets({F::kIQ1_S, F::kIQ1_M}), kAlways, G::IQ2_XXS, "attn_output raised to IQ2_XXS"},
    {kIq2SM, kAlways, G::IQ3_S, "attn_output raised to IQ3_S"},
};

constexpr PolicyRule kAttnVRules[] = {
    {presets({F::kQ2_K}), kGqa4, G::Q4_K, "attn_v at Q4_K (GQA >= 4: attn_v is small)"},
    {presets({F::kQ2_K}), kAlways, G::Q3_K, "attn_v raised to Q3_K"},
    {presets({F::kQ2_K_S}), kGqa4, G::Q4_K, "attn_v at Q4_K (GQA >= 4: attn_v is small)"},
    {presets({F::kIQ3_XXS}), kGqa4, G::Q4_K, "attn_v at Q4_K (GQA >= 4: attn_v is small)"},
    {presets({F::kIQ3_XXS}), kNoImatrix, G::IQ3_S, "attn_v at IQ3_S without an imatrix"},
    {presets({F::kIQ3_XXS}), kAlways, G::IQ3_XXS, "attn_v at IQ3_XXS"},
    {presets({F::kIQ3_XS, F::kIQ3_S}), kGqa4, G::Q4_K,
     "attn_v at Q4_K (GQA >= 4: attn_v is small)"},
    {presets({F::kIQ3_M}), kAlways, G::Q4_K, "attn_v raised to Q4_K"},
    {presets({F::kQ3_K_M}), kBelow2, G::Q5_K, "first two attn_v at Q5_K"},
    {presets({F::kQ3_K_M}), kAlways, G::Q4_K, "attn_v raised to Q4_K"},
    {presets({F::kQ3_K_L}), kAlways, G::Q5_K, "attn_v raised to Q5_K"},
    {presets({F::kIQ4_NL, F::kIQ4_XS}), kGqa4, G::Q5_K,
     "attn_v at Q5_K (GQA >= 4: attn_v is small)"},
    {presets({F::kQ4_K_M, F::kQ5_K_M}), kMoreBits, G::Q6_K,
     "attn_v at Q6_K in the first/last eighth and every third layer"},
    {presets({F::kQ4_K_S}), kBelow4, G::Q5_K, "first four attn_v at Q5_K"},
};
constexpr PolicyRule kAttnV70BRules[] = {
    {kAnyPreset, kModel70B, G::Q5_K, "70B: attn_v (shared by 8 heads) raised to Q5_K",
     types({G::Q3_K, G::Q4_K})},
};
constexpr PolicyRule kAttnVExpertRules[] = {
    {kAnyPreset, kExperts8, G::Q8_0, "attn_v at Q8_0 (8 experts: cheap next to the experts)"},
};

constexpr PolicyRule kAttnKRules[] = {
    {kAnyPreset, kExperts8, G::Q8_0, "attn_k at Q8_0 (8 experts: cheap next to the experts)"},
    {presets({F::kIQ3_XS}), kAlways, G::IQ3_XXS, "attn_k lowered to IQ3_XXS"},
    {presets({F::kIQ3_XXS}), kAlways, G::IQ2_S, "attn_k lowered to IQ2_S"},
};
constexpr PolicyRule kAttnQRules[] = {
    {presets({F::kIQ3_XS}), kAlways, G::IQ3_XXS, "attn_q lowered to IQ3_XXS"},
    {presets({F::kIQ3_XXS}), kAlways, G::IQ2_S, "attn_q lowered to IQ2_S"},
};

constexpr std::string_view kMoreBitsWhy =
    "ffn_down at Q6_K in the first/last eighth and every third layer";
constexpr PolicyRule kFfnDownRules[] = {
    {presets({F::kQ2_K}), kAlways, G::Q3_K, "ffn_down raised to Q3_K"},
    {presets({F::kQ2_K_S}), kFirstEighth, G::Q4_K, "ffn_down of the first eighth at Q4_K"},
    {presets({F::kQ2_K_S}), kAlways, std::nullopt, "ffn_down at the preset type"},
    {presets({F::kIQ3_XXS}), kNoImatrix | kFirstEighth, G::Q4_K,
     "ffn_down of the first eighth at Q4_K (no imatrix)"},
    {presets({F::kIQ3_XXS}), kNoImatrix, G::Q3_K, "ffn_down at Q3_K (no imatrix)"},
    {presets({F::kQ3_K_M}), kFirstSixteenth, G::Q5_K, "ffn_down of the first sixteenth at Q5_K"},
    {presets({F::kQ3_K_M}), kNotFalcon, G::Q4_K, "ffn_down raised to Q4_K"},
    {presets({F::kQ3_K_M}), kMoreBits, G::Q4_K, "falcon ffn_down at Q4_K in more-bits layers"},
    {presets({F::kQ3_K_M}), kAlways, G::Q3_K, "falcon ffn_down at Q3_K"},
    {presets({F::kIQ3_M}), kFirstEighth, G::Q4_K, "ffn_down of the first eighth at Q4_K"},
    {presets({F::kIQ3_M}), kExperts8 | kMoreBits, G::Q4_K,
     "ffn_down at Q4_K in more-bits layers (8 experts)"},
    {presets({F::kQ3_K_L}), kFalcon, G::Q4_K, "falcon ffn_down at Q4_K"},
    {presets({F::kQ3_K_L}), kAlways, G::Q5_K, "ffn_down raised to Q5_K"},
    {presets({F::kQ4_K_M}), kFalcon | kFirstSixteenth, G::Q6_K,
     "falcon ffn_down of the first sixteenth at Q6_K"},
    {presets({F::kQ4_K_M}), kFalcon | kMoreBits, G::Q5_K,
     "falcon ffn_down at Q5_K in more-bits layers"},
    {presets({F::kQ4_K_M}), kFalcon, std::nullopt, "falcon ffn_down at the preset type"},
    {presets({F::kQ4_K_M}), kMoreBits, G::Q6_K, kMoreBitsWhy},
    {presets({F::kQ4_K_M}), kAlways, std::nullopt, "ffn_down at the preset type"},
    {presets({F::kIQ4_NL, F::kIQ4_XS}), kFirstEighth | kNoImatrix, G::Q5_K,
     "ffn_down of the first eighth at Q5_K (no imatrix)"},
    {presets({F::kQ5_K_M}), kMoreBits, G::Q6_K, kMoreBitsWhy},
    {presets({F::kQ4_K_S}), kNotFalcon | kFirstEighth, G::Q5_K,
     "ffn_down of the first eighth at Q5_K"},
    // With an imatrix only, so that a run without one reproduces the pre-imatrix results.
    {presets({F::kQ4_0}), kImatrix | kFirstEighth, G::Q4_1,
     "ffn_down of the first eighth at Q4_1 (guards against outliers)"},
    {presets({F::kQ5_0}), kImatrix | kFirstEighth, G::Q5_1,
     "ffn_down of the first eighth at Q5_1 (guards against outliers)"},
};

constexpr uint64_t kExpert8AttnOutputPresets =
    presets({F::kQ2_K, F::kIQ3_XS, F::kIQ3_XXS, F::kQ3_K_S, F::kQ3_K_M, F::kIQ4_NL, F::kQ4_K_S,
             F::kQ4_K_M, F::kIQ3_S, F::kIQ3_M, F::kIQ4_XS});
constexpr PolicyRule kAttnOutputRules[] = {
    {presets({F::kQ3_K_L}), kFalcon, G::Q4_K, "falcon attn_output at Q4_K"},
    {kAnyPreset, kFalcon, std::nullopt, "falcon attn_output at the preset type"},
    {kExpert8AttnOutputPresets, kExperts8, G::Q5_K, "attn_output at Q5_K (8 experts)"},
    {kAnyPreset, kExperts8, std::nullopt, "attn_output at the preset type"},
    {presets({F::kQ2_K}), kAlways, G::Q3_K, "attn_output raised to Q3_K"},
    {presets({F::kIQ3_XXS}), kAlways, G::IQ3_S, "attn_output raised to IQ3_S"},
    {presets({F::kQ3_K_M}), kAlways, G::Q4_K, "attn_output raised to Q4_K"},
    {presets({F::kQ3_K_L}), kAlways, G::Q5_K, "attn_output raised to Q5_K"},
    {presets({F::kIQ3_M}), kAlways, G::Q4_K, "attn_output raised to Q4_K"},
};

constexpr PolicyRule kFfnGateUpRules[] = {
    {presets({F::kIQ3_XS}), kMiddle, G::IQ3_XXS, "middle layers lowered to IQ3_XXS"},
};

using Stages = std::array<std::span<const PolicyRule>, 3>;
// clang-format off
constexpr PolicySection kSections[] = {
    {cats({C::kOutput}),     kAnyPreset, kAlways, Position::kNone, Stages{kOutputRules}, true},
    {cats({C::kTokenEmbd}),  kAnyPreset, kTied,   Position::kNone, Stages{kOutputRules}, true},
    {kAnyCategory, presets({F::kMXFP4_MOE}), kAlways, Position::kNone, Stages{kMxfp4Rules}},
    {cats({C::kTokenEmbd}),  kAnyPreset, kAlways, Position::kNone, Stages{kTokenEmbdRules}},
    {cats({C::kAttnV}),      kIq2Family, kAlways, Position::kAttnVCounter, Stages{kIq2AttnVRules}},
    {cats({C::kAttnK}),      kIq2Family, kAlways, Position::kNone, Stages{kIq2AttnKRules}},
    {cats({C::kFfnDown}),    kIq2Family, kAlways, Position::kFfnDownCounter, Stages{kIq2FfnDownRules}},
    {cats({C::kAttnOutput}), kIq2Family, kAlways, Position::kNone, Stages{kIq2AttnOutputRules}},
    {kAnyCategory,           kIq2Family, kAlways, Position::kNone, Stages{}},
    {cats({C::kAttnV}),      kAnyPreset, kAlways, Position::kAttnVCounter,
     Stages{kAttnVRules, kAttnV70BRules, kAttnVExpertRules}},
    {cats({C::kAttnK}),      kAnyPreset, kAlways, Position::kNone, Stages{kAttnKRules}},
    {cats({C::kAttnQ}),      kAnyPreset, kAlways, Position::kNone, Stages{kAttnQRules}},
    {cats({C::kFfnDown}),    kAnyPreset, kAlways, Position::kFfnDownLayer, Stages{kFfnDownRules}},
    {cats({C::kAttnOutput}), kAnyPreset, kAlways, Position::kNone, Stages{kAttnOutputRules}},
    {cats({C::kFfnGate}),    kAnyPreset, kAlways, Position::kFfnGateLayer, Stages{kFfnGateUpRules}},
    {cats({C::kFfnUp}),      kAnyPreset, kAlways, Position::kFfnUpLayer, Stages{kFfnGateUpRules}},
};
// clang-format on

// ---------------------------------------------------------------------------------------------
// Categories, quantizable tensors, fallbacks, imatrix requirements
// ---------------------------------------------------------------------------------------------

struct RoleCategory {
  Role role;
  PolicyCategory category;
};
constexpr RoleCategory kRoleCategories[] = {
    {Role::kTokenEmbd, C::kTokenEmbd},
    {Role::kOutput, C::kOutput},
    {Role::kAttnQ, C::kAttnQ},
    {Role::kAttnK, C::kAttnK},
    {Role::kAttnV, C::kAttnV},
    {Role::kAttnQkv, C::kAttnV},
    {Role::kAttnOutput, C::kAttnOutput},
    {Role::kFfnUp, C::kFfnUp},
    {Role::kFfnUpExps, C::kFfnUp},
    {Role::kFfnUpShexp, C::kFfnUp},
    {Role::kFfnGate, C::kFfnGate},
    {Role::kFfnGateExps, C::kFfnGate},
    {Role::kFfnGateShexp, C::kFfnGate},
    {Role::kFfnGateInp, C::kFfnGate},
    {Role::kFfnGateInpShexp, C::kFfnGate},
    {Role::kFfnDown, C::kFfnDown},
    {Role::kFfnDownExps, C::kFfnDown},
    {Role::kFfnDownShexp, C::kFfnDown},
};

// Tensors llama-quantize never quantizes although they are 2-D "weight"s: it decides by name
// fragment, and so do we, so that architectures without roles here behave the same.
constexpr std::string_view kKeptFragments[] = {
    "_norm.weight",         // norms
    "ffn_gate_inp.weight",  // MoE routers
    "ffn_gate_tid2eid.weight",
    "altup",
    "laurel",
    "per_layer_model_proj",
    "ssm_conv1d",  // small recurrent convolutions
    "shortconv.conv.weight",
    "indexer.k_proj.weight",
    "indexer.q_proj.weight",
    "time_mix_first.weight",
    "time_mix_w0.weight",
    "time_mix_w1.weight",
    "time_mix_w2.weight",
    "time_mix_v0.weight",
    "time_mix_v1.weight",
    "time_mix_v2.weight",
    "time_mix_a0.weight",
    "time_mix_a1.weight",
    "time_mix_a2.weight",
    "time_mix_g1.weight",
    "time_mix_g2.weight",
    "time_mix_decay_w1.weight",
    "time_mix_decay_w2.weight",
    "time_mix_lerp_fused.weight",
    "attn_rel_b.weight",
    ".position_embd",
    "sam.pos_embd",
    "sam.neck.",
    "sam.net_",
    ".rel_pos",
    ".patch_embd",
    ".patch_merger",
    "a.rvq.codebook",
    "mm.a.code_embd",
};
constexpr std::string_view kKeptNames[] = {"position_embd.weight", "token_types.weight"};

struct Fallback {
  GgmlType from;
  GgmlType to;
};
// Block-256 types fall back to a block-32 type of similar size.
constexpr Fallback kFallbacks[] = {
    {G::IQ1_S, G::IQ4_NL}, {G::IQ1_M, G::IQ4_NL},   {G::IQ2_XXS, G::IQ4_NL}, {G::IQ2_XS, G::IQ4_NL},
    {G::IQ2_S, G::IQ4_NL}, {G::IQ3_XXS, G::IQ4_NL}, {G::IQ3_S, G::IQ4_NL},   {G::IQ4_XS, G::IQ4_NL},
    {G::Q2_K, G::Q4_0},    {G::Q3_K, G::Q4_0},      {G::TQ1_0, G::Q4_0},     {G::TQ2_0, G::Q4_0},
    {G::Q4_K, G::Q5_0},    {G::Q5_K, G::Q5_1},      {G::Q6_K, G::Q8_0},
};

constexpr uint64_t kImatrixRequired =
    types({G::IQ3_XXS, G::IQ2_XXS, G::IQ2_XS, G::IQ2_S, G::IQ1_M, G::IQ1_S});

bool in_mask(uint64_t mask, uint32_t bit) { return bit < 64 && (mask >> bit) & 1; }
bool has_type(uint64_t mask, GgmlType t) { return in_mask(mask, static_cast<uint32_t>(t)); }

int64_t block_size_of(GgmlType t) { return quant_type(t).block_size; }

bool use_more_bits(int64_t i, int64_t n) {
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

uint32_t position_facts(int64_t i, int64_t n) {
  uint32_t f = 0;
  if (i < n / 8) f |= kFirstEighth;
  if (i < n / 16) f |= kFirstSixteenth;
  if (use_more_bits(i, n)) f |= kMoreBits;
  if (i >= n / 8 && i < 7 * n / 8) f |= kMiddle;
  if (i < 2) f |= kBelow2;
  if (i < 4) f |= kBelow4;
  return f;
}

}  // namespace

// The evaluator; a struct so PresetPolicy can befriend it.
struct PolicyEvaluation {
  PresetPolicy& policy;
  const PolicyTensor& tensor;

  uint32_t model_facts(GgmlType current) const {
    const PolicyModel& m = policy.model_;
    uint32_t f = 0;
    const bool falcon = m.arch == "falcon";
    f |= falcon ? kFalcon : kNotFalcon;
    f |= m.has_imatrix ? kImatrix : kNoImatrix;
    if (m.tied_embeddings) f |= kTied;
    if (m.n_head_kv > 0 && m.n_head / m.n_head_kv >= 4) f |= kGqa4;
    if (m.n_expert >= 4) f |= kExperts4;
    if (m.n_expert == 8) f |= kExperts8;
    // llama.cpp's LLM_TYPE_70B: an 80-layer llama with grouped-query attention, not Mixtral.
    if (m.arch == "llama" && m.n_expert != 8 && m.n_layer == 80 && m.n_head != m.n_head_kv)
      f |= kModel70B;
    const int64_t row = tensor.shape.empty() ? 1 : tensor.shape[0];
    if (row % block_size_of(current) != 0) f |= kRowNotBlockMultiple;
    if (tensor.shape.size() > 2 && tensor.shape[2] > 1) f |= kMultiExpert;
    return f;
  }

  Expected<uint32_t> position(Position p) const {
    const PolicyModel& m = policy.model_;
    const auto& c = policy.counters_;
    auto layer = [&](int64_t counter) -> Expected<int64_t> {
      if (m.n_expert <= 1) return counter;
      const int block = tensor.parsed.block;
      if (block < 0 || block >= m.n_layer)
        return make_error(ErrorCode::kInvalidArgument,
                          "{}: cannot place the tensor in a layer of [0, {})", tensor.name,
                          m.n_layer);
      return int64_t{block};
    };
    switch (p) {
      case Position::kNone:
        return uint32_t{0};
      case Position::kAttnVCounter:
        return position_facts(c.attn_v, m.n_attn_v);
      case Position::kFfnDownCounter:
        return position_facts(c.ffn_down, m.n_layer);
      case Position::kFfnDownLayer: {
        QMIX_TRY_ASSIGN(const int64_t i, layer(c.ffn_down));
        return position_facts(i, m.n_layer);
      }
      case Position::kFfnGateLayer: {
        QMIX_TRY_ASSIGN(const int64_t i, layer(c.ffn_gate));
        return position_facts(i, m.n_layer);
      }
      case Position::kFfnUpLayer: {
        QMIX_TRY_ASSIGN(const int64_t i, layer(c.ffn_up));
        return position_facts(i, m.n_layer);
      }
    }
    return uint32_t{0};
  }

  void advance(Position p) {
    auto& c = policy.counters_;
    switch (p) {
      case Position::kNone:
        break;
      case Position::kAttnVCounter:
        ++c.attn_v;
        break;
      case Position::kFfnDownCounter:
      case Position::kFfnDownLayer:
        ++c.ffn_down;
        break;
      case Position::kFfnGateLayer:
        ++c.ffn_gate;
        break;
      case Position::kFfnUpLayer:
        ++c.ffn_up;
        break;
    }
  }

  const PolicySection* section(uint32_t facts) const {
    const uint32_t cat_bit = 1u << static_cast<uint32_t>(tensor.category);
    const uint32_t ftype = static_cast<uint32_t>(policy.preset_.ftype);
    for (const auto& s : kSections)
      if ((s.categories & cat_bit) && in_mask(s.presets, ftype) && (s.when & ~facts) == 0)
        return &s;
    return nullptr;
  }

  Expected<PolicyChoice> run(std::optional<GgmlType> output_type) {
    const Preset& preset = policy.preset_;
    PolicyChoice choice{preset.default_type, "preset default type"};
    const uint32_t base = model_facts(choice.type);
    const PolicySection* s = section(base);
    if (s == nullptr) return choice;
    // Tied embeddings are the output matrix: they take --output-tensor-type too.
    if (s->output_matrix && output_type)
      return PolicyChoice{*output_type, "--output-tensor-type (tied embeddings)"};
    QMIX_TRY_ASSIGN(const uint32_t pos, position(s->position));
    const uint32_t facts = base | pos;
    const uint32_t ftype = static_cast<uint32_t>(preset.ftype);
    for (const auto& stage : s->stages) {
      for (const auto& rule : stage) {
        if (!in_mask(rule.presets, ftype) || (rule.when & ~facts) != 0) continue;
        if (!has_type(rule.from, choice.type)) continue;
        if (rule.to) choice.type = *rule.to;
        choice.why = rule.why;
        break;
      }
    }
    advance(s->position);
    return choice;
  }
};

PolicyCategory policy_category(const TensorName& name) {
  // llama.cpp matches "attn_v.weight" etc.; biases and other suffixes are not in a category.
  if (name.suffix != "weight") return C::kOther;
  // Only the global token_embd/output count as such, never a per-block tensor of that name.
  if ((name.role == Role::kTokenEmbd || name.role == Role::kOutput) && name.block >= 0)
    return C::kOther;
  for (const auto& rc : kRoleCategories)
    if (rc.role == name.role) return rc.category;
  return C::kOther;
}

PolicyTensor make_policy_tensor(std::string_view name, std::span<const int64_t> shape) {
  PolicyTensor t;
  t.name = name;
  t.parsed = parse_tensor_name(name);
  t.category = policy_category(t.parsed);
  t.shape = shape;
  return t;
}

bool allows_quantization(const PolicyTensor& t, OutputTensorMode output_mode) {
  // ggml_n_dims: trailing dimensions of size 1 do not count.
  size_t n_dims = 1;
  for (size_t d = 1; d < t.shape.size(); ++d)
    if (t.shape[d] > 1) n_dims = d + 1;
  if (n_dims < 2) return false;
  if (!t.name.ends_with("weight")) return false;
  if (output_mode == OutputTensorMode::kLeaveAsIs && t.name == "output.weight") return false;
  for (std::string_view fragment : kKeptFragments)
    if (t.name.find(fragment) != std::string_view::npos) return false;
  for (std::string_view name : kKeptNames)
    if (t.name == name) return false;
  return true;
}

PresetPolicy::PresetPolicy(const Preset& preset, PolicyModel model)
    : preset_(preset), model_(std::move(model)) {}

Expected<PolicyChoice> PresetPolicy::choose(const PolicyTensor& t,
                                            std::optional<GgmlType> output_type) {
  PolicyEvaluation eval{*this, t};
  return eval.run(output_type);
}

Expected<PolicyChoice> block_fallback(GgmlType type, int64_t row_length) {
  if (row_length % block_size_of(type) == 0) return PolicyChoice{type, ""};
  for (const auto& f : kFallbacks) {
    if (f.from != type) continue;
    if (row_length % block_size_of(f.to) == 0)
      return PolicyChoice{f.to, "row length does not fit the blocks: fallback type"};
    return PolicyChoice{G::F16, "row length fits no quantized block: F16"};
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "row length {} is not a multiple of {}'s block size {} and {} has no "
                    "fallback type",
                    row_length, quant_type(type).name, block_size_of(type), quant_type(type).name);
}

bool requires_imatrix(const PolicyTensor& t, GgmlType type, const Preset& preset) {
  if (t.name == "token_embd.weight" || t.name == "output.weight") return false;
  if (has_type(kImatrixRequired, type)) return true;
  // k-quants do without, except Q2_K inside the (smaller, imatrix-tuned) Q2_K_S mix.
  return type == G::Q2_K && preset.ftype == F::kQ2_K_S;
}

}  // namespace qmix
