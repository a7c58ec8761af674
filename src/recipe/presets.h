// The quantization presets (llama-quantize's file types) as data: name, the llama_ftype number
// written to `general.file_type`, and the default type that the per-tensor policy
// (quant_policy.h) starts from.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"
#include "quant/types.h"

namespace qmix {

// llama.cpp's enum llama_ftype values (stable: they are stored in GGUF files).
enum class Ftype : uint32_t {
  kAllF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ8_0 = 7,
  kQ5_0 = 8,
  kQ5_1 = 9,
  kQ2_K = 10,
  kQ3_K_S = 11,
  kQ3_K_M = 12,
  kQ3_K_L = 13,
  kQ4_K_S = 14,
  kQ4_K_M = 15,
  kQ5_K_S = 16,
  kQ5_K_M = 17,
  kQ6_K = 18,
  kIQ2_XXS = 19,
  kIQ2_XS = 20,
  kQ2_K_S = 21,
  kIQ3_XS = 22,
  kIQ3_XXS = 23,
  kIQ1_S = 24,
  kIQ4_NL = 25,
  kIQ3_S = 26,
  kIQ3_M = 27,
  kIQ2_S = 28,
  kIQ2_M = 29,
  kIQ4_XS = 30,
  kIQ1_M = 31,
  kBF16 = 32,
  kTQ1_0 = 36,
  kTQ2_0 = 37,
  kMXFP4_MOE = 38,
};

struct Preset {
  std::string_view name;  // as llama-quantize spells it: "Q4_K_M"
  Ftype ftype;
  GgmlType default_type;         // the type most weights get
  std::string_view description;  // one line for --list-presets
};

std::span<const Preset> all_presets();
// Case-insensitive name ("q4_k_m"), llama-quantize's aliases ("Q4_K" = Q4_K_M) or the ftype
// number ("15"). The error lists the valid names.
Expected<const Preset*> find_preset(std::string_view name);
const Preset& preset_for(Ftype ftype);  // for ftypes of the table (QMIX_CHECK)
std::string preset_names();             // "Q4_0, Q4_1, …" for messages

}  // namespace qmix
