// What converting a Hugging Face architecture means, as data: which config.json fields become
// which GGUF keys, which checkpoint tensors become which GGUF tensors (by role, from
// src/model/tensor_roles), and which layout transforms llama.cpp applies on the way. Adding an
// architecture is adding a row to the table in arch_table.cpp.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "convert/hf_checkpoint.h"
#include "core/error.h"
#include "gguf/gguf_value.h"
#include "model/tensor_roles.h"

namespace qmix {

// Layout and value changes between a checkpoint tensor and its GGUF counterpart. A rule lists
// the transforms its tensor may need; an architecture enables the ones it uses, so the shared
// rule lists serve every architecture.
enum class Transform : uint8_t {
  kNone,
  kRopeQ,             // q rows: interleaved-pair RoPE layout → llama.cpp's (llama arch)
  kRopeK,             // the same for k, over the kv heads
  kCenteredNorm,      // norm stored as w + 1 (Qwen3.5 keeps RMSNorm weights centered on 0)
  kNegExp,            // A = -exp(A_log)
  kVHeadRows,         // value heads grouped by key head → tiled, along the rows
  kVHeadRowsAfterQK,  // the same for the rows after the q and k blocks (fused qkv, conv1d)
  kVHeadCols,         // the same along the columns (the output projection's input)
  kSqueeze,           // drop dimensions of size 1 (conv1d [C, 1, K] → [C, K])
};

using TransformMask = uint32_t;
constexpr TransformMask transform_bit(Transform t) { return 1u << static_cast<unsigned>(t); }

struct TensorRule {
  // Checkpoint name; "{bid}" matches the block number, "{xid}" the expert number (rules with
  // "{xid}" are stacked into one 3-D tensor per block, experts along the outermost dimension).
  std::string_view hf_pattern;
  Role role;
  std::string_view suffix;  // GGUF name suffix: "weight", "bias" or "" (blk.N.ssm_a)
  std::array<Transform, 2> transforms = {Transform::kNone, Transform::kNone};
};

// A config.json field (first of several spellings) or a derived value, as one GGUF key.
enum class MetaKind : uint8_t { kU32, kF32 };
enum class Need : uint8_t { kOptional, kRequired };
// Derived values return zero or more keys, named relative to "{arch}.".
using DeriveFn = Expected<std::vector<GgufKv>> (*)(const HfConfig&);

struct MetaRule {
  std::string_view key;  // relative to "{arch}."; unused with `derive`
  MetaKind kind = MetaKind::kU32;
  std::array<std::string_view, 6> hf_keys = {};
  Need need = Need::kOptional;
  DeriveFn derive = nullptr;
};

struct ArchSpec {
  std::string_view hf_class;   // config.json "architectures"[0]
  std::string_view gguf_arch;  // general.architecture (one of model/hparams.h's)
  // Keys after "general.file_type" (the keys llama.cpp's TextModel writes for every
  // architecture come first), then keys written after the tokenizer block.
  std::span<const MetaRule> arch_keys;
  std::span<const MetaRule> trailing_keys;
  std::array<std::span<const TensorRule>, 4> tensor_rules;
  TransformMask transforms;  // which rule transforms this architecture applies
  std::span<const std::string_view> ignored_prefixes;  // checkpoint tensors not converted
};

// Checkpoint tensors no architecture converts (buffers, not weights), by name ending.
std::span<const std::string_view> ignored_tensor_suffixes();

// Keys every architecture gets, in llama.cpp's order (block_count … key/value_length).
std::span<const MetaRule> text_model_keys();

Expected<const ArchSpec*> arch_spec_for_class(std::string_view hf_class);
std::string supported_hf_classes();
std::span<const ArchSpec> all_arch_specs();

}  // namespace qmix
