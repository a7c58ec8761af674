// What `qmix inspect` reports about a GGUF model, computed once from the file's tensor infos and
// metadata (never its tensor data); `qmix inspect` renders it as tables or JSON (inspect_json.h),
// the workflow writes the JSON for its report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gguf/gguf_model.h"
#include "model/tensor_roles.h"
#include "quant/types.h"

namespace qmix {

// Tensors, parameters and bytes of some set of tensors.
struct Tally {
  uint64_t tensors = 0;
  uint64_t params = 0;
  uint64_t bytes = 0;

  void add(uint64_t n_params, uint64_t n_bytes) {
    ++tensors;
    params += n_params;
    bytes += n_bytes;
  }
  // Bits per weight; nullopt for an empty set.
  std::optional<double> bpw() const;
};

struct TensorEntry {
  std::string name;
  std::vector<int64_t> shape;  // ggml order: row length first
  GgmlType type = GgmlType::F32;
  uint64_t params = 0;
  uint64_t bytes = 0;
  size_t shard = 0;
  TensorName parsed;       // block, role, suffix
  std::string layer_name;  // name without "blk.N." and ".weight" ("attn_q", "attn_q.bias")

  // 2-D and higher (expert stacks): what quantization presets act on.
  bool is_matrix() const { return shape.size() >= 2; }
};

struct TypeCount {
  GgmlType type;
  Tally tally;
};
struct GroupCount {
  RoleGroup group;
  Tally tally;
};
struct RoleCount {
  Role role;
  Tally tally;
  std::vector<TypeCount> types;  // how the role's tensors are stored, by type id
};

// A per-block tensor kind, e.g. "attn_q" or "attn_q.bias".
struct LayerColumn {
  std::string name;
  bool matrix = false;  // 2-D+ in some block (else a vector: norms, biases, always float)
};

// One transformer block (blk.N): the type of each of its tensors and its bits per weight.
struct LayerEntry {
  int block = 0;
  Tally tally;
  std::vector<std::optional<GgmlType>> types;  // parallel to InspectSummary::layer_columns
};

struct ShardEntry {
  std::string path;
  uint64_t size = 0;
  uint64_t tensors = 0;
};

struct TokenizerSummary {
  std::string model;  // tokenizer.ggml.model ("gpt2", "llama"); empty when absent
  std::string pre;    // tokenizer.ggml.pre
  uint64_t vocab = 0;
  uint64_t merges = 0;
  std::optional<int64_t> bos, eos;
  bool chat_template = false;
};

struct InspectSummary {
  std::vector<ShardEntry> shards;
  uint64_t file_size = 0;  // all shards
  uint32_t version = 0;
  uint32_t alignment = 0;
  size_t kv_count = 0;
  std::string architecture;
  std::string name;
  std::optional<int64_t> file_type;  // general.file_type (llama.cpp's LLAMA_FTYPE_*)
  TokenizerSummary tokenizer;

  Tally all;                               // every tensor
  Tally matrices;                          // 2-D+ tensors only
  std::vector<TensorEntry> tensors;        // in file order
  std::vector<TypeCount> types;            // by type id
  std::vector<GroupCount> groups;          // in RoleGroup order; non-empty groups only
  std::vector<RoleCount> roles;            // in the role table's order; present roles only
  std::vector<LayerColumn> layer_columns;  // per-block tensor kinds in role-table order
  std::vector<LayerEntry> layers;          // by block index

  // Bits per weight counting the whole file (metadata and padding included).
  std::optional<double> file_bpw() const;
};

InspectSummary summarize_model(const GgufModel& model);

// "Q4_K", "BF16", "IQ2_XXS": the upper-case spelling of llama.cpp's presets and logs.
std::string type_label(GgmlType type);

}  // namespace qmix
