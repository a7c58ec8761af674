#include "recipe/presets.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace qmix {
namespace {

using F = Ftype;
using G = GgmlType;

// clang-format off
constexpr std::array kPresets = {
  Preset{"Q4_0",      F::kQ4_0,      G::Q4_0,    "4.5 bpw legacy blocks of 32 (scale only)"},
  Preset{"Q4_1",      F::kQ4_1,      G::Q4_1,    "5.0 bpw legacy blocks of 32 (scale + min)"},
  Preset{"Q5_0",      F::kQ5_0,      G::Q5_0,    "5.5 bpw legacy blocks of 32 (scale only)"},
  Preset{"Q5_1",      F::kQ5_1,      G::Q5_1,    "6.0 bpw legacy blocks of 32 (scale + min)"},
  Preset{"Q8_0",      F::kQ8_0,      G::Q8_0,    "8.5 bpw, nearly lossless"},
  Preset{"Q2_K",      F::kQ2_K,      G::Q2_K,    "Q2_K mix: attn_v/ffn_down/attn_output raised to Q3_K+"},
  Preset{"Q2_K_S",    F::kQ2_K_S,    G::Q2_K,    "Q2_K mix, smaller; needs an imatrix"},
  Preset{"Q3_K_S",    F::kQ3_K_S,    G::Q3_K,    "Q3_K nearly everywhere"},
  Preset{"Q3_K_M",    F::kQ3_K_M,    G::Q3_K,    "Q3_K mix: attn_v/ffn_down/attn_output raised to Q4_K/Q5_K"},
  Preset{"Q3_K_L",    F::kQ3_K_L,    G::Q3_K,    "Q3_K mix: attn_v/ffn_down/attn_output at Q5_K"},
  Preset{"Q4_K_S",    F::kQ4_K_S,    G::Q4_K,    "Q4_K, first attn_v/ffn_down layers at Q5_K"},
  Preset{"Q4_K_M",    F::kQ4_K_M,    G::Q4_K,    "Q4_K mix: half of attn_v/ffn_down at Q6_K"},
  Preset{"Q5_K_S",    F::kQ5_K_S,    G::Q5_K,    "Q5_K nearly everywhere"},
  Preset{"Q5_K_M",    F::kQ5_K_M,    G::Q5_K,    "Q5_K mix: half of attn_v/ffn_down at Q6_K"},
  Preset{"Q6_K",      F::kQ6_K,      G::Q6_K,    "6.56 bpw k-quant"},
  Preset{"IQ1_S",     F::kIQ1_S,     G::IQ1_S,   "1.56 bpw; needs an imatrix"},
  Preset{"IQ1_M",     F::kIQ1_M,     G::IQ1_M,   "1.75 bpw; needs an imatrix"},
  Preset{"IQ2_XXS",   F::kIQ2_XXS,   G::IQ2_XXS, "2.06 bpw; needs an imatrix"},
  Preset{"IQ2_XS",    F::kIQ2_XS,    G::IQ2_XS,  "2.31 bpw; needs an imatrix"},
  Preset{"IQ2_S",     F::kIQ2_S,     G::IQ2_XS,  "2.5 bpw mix of IQ2_XS and IQ3_S; needs an imatrix"},
  Preset{"IQ2_M",     F::kIQ2_M,     G::IQ2_S,   "2.7 bpw mix of IQ2_S and IQ3_S; needs an imatrix"},
  Preset{"IQ3_XXS",   F::kIQ3_XXS,   G::IQ3_XXS, "3.06 bpw; needs an imatrix"},
  Preset{"IQ3_XS",    F::kIQ3_XS,    G::IQ3_S,   "3.3 bpw mix of IQ3_S and IQ3_XXS"},
  Preset{"IQ3_S",     F::kIQ3_S,     G::IQ3_S,   "3.44 bpw"},
  Preset{"IQ3_M",     F::kIQ3_M,     G::IQ3_S,   "3.66 bpw mix of IQ3_S and Q4_K"},
  Preset{"IQ4_NL",    F::kIQ4_NL,    G::IQ4_NL,  "4.5 bpw non-linear, blocks of 32"},
  Preset{"IQ4_XS",    F::kIQ4_XS,    G::IQ4_XS,  "4.25 bpw non-linear"},
  Preset{"TQ1_0",     F::kTQ1_0,     G::TQ1_0,   "1.69 bpw ternary (for ternary-trained models)"},
  Preset{"TQ2_0",     F::kTQ2_0,     G::TQ2_0,   "2.06 bpw ternary (for ternary-trained models)"},
  Preset{"MXFP4_MOE", F::kMXFP4_MOE, G::MXFP4,   "MXFP4 experts, Q8_0 elsewhere"},
  Preset{"F16",       F::kF16,       G::F16,     "16 bpw half precision"},
  Preset{"BF16",      F::kBF16,      G::BF16,    "16 bpw bfloat16"},
  Preset{"F32",       F::kAllF32,    G::F32,     "32 bpw, no quantization"},
};
// clang-format on

// llama-quantize accepts these shorter names for the medium mixes.
struct Alias {
  std::string_view name;
  Ftype ftype;
};
constexpr std::array kAliases = {
    Alias{"Q3_K", F::kQ3_K_M},
    Alias{"Q4_K", F::kQ4_K_M},
    Alias{"Q5_K", F::kQ5_K_M},
};

bool iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    return std::toupper(static_cast<unsigned char>(x)) ==
           std::toupper(static_cast<unsigned char>(y));
  });
}

const Preset* find_by_ftype(uint32_t ftype) {
  for (const auto& p : kPresets)
    if (static_cast<uint32_t>(p.ftype) == ftype) return &p;
  return nullptr;
}

}  // namespace

std::span<const Preset> all_presets() { return kPresets; }

Expected<const Preset*> find_preset(std::string_view name) {
  for (const auto& p : kPresets)
    if (iequals(p.name, name)) return &p;
  for (const auto& a : kAliases)
    if (iequals(a.name, name)) return &preset_for(a.ftype);
  uint32_t number = 0;
  const auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), number);
  if (ec == std::errc() && ptr == name.data() + name.size())
    if (const Preset* p = find_by_ftype(number)) return p;
  return make_error(ErrorCode::kInvalidArgument, "unknown quantization type '{}' (valid: {})", name,
                    preset_names());
}

const Preset& preset_for(Ftype ftype) {
  const Preset* p = find_by_ftype(static_cast<uint32_t>(ftype));
  QMIX_CHECK(p != nullptr);
  return *p;
}

std::string preset_names() {
  std::string out;
  for (const auto& p : kPresets) {
    if (!out.empty()) out += ", ";
    out += p.name;
  }
  return out;
}

}  // namespace qmix
