// The list of GGUF tensors a conversion writes, worked out from the checkpoint's headers alone:
// names, shapes, types, and for each output row which checkpoint row (of which source tensor)
// it comes from. The data is streamed later, chunk by chunk (convert/tensor_stream.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convert/arch_table.h"
#include "convert/hf_checkpoint.h"
#include "core/error.h"
#include "quant/types.h"

namespace qmix {

// Element-wise value changes, applied in f32 (in half precision for F16 sources, as
// llama.cpp's converter does).
enum class ElementOp : uint8_t { kNone, kAddOne, kNegExp };

struct PlannedTensor {
  std::string name;  // GGUF name
  Role role = Role::kOther;
  std::vector<int64_t> shape;  // ggml order: shape[0] is the row length
  GgmlType type = GgmlType::F32;
  // One source, or one per expert stacked along the outermost dimension.
  std::vector<HfTensorRef> sources;
  // The stacked source seen as a matrix: rows = outermost dimension, cols = the rest
  // (1 for 1-D tensors). Layout transforms are permutations of its rows or columns.
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<int64_t> row_map;  // output row → source row; empty means identity
  std::vector<int64_t> col_map;  // output column → source column; empty means identity
  ElementOp op = ElementOp::kNone;

  uint64_t n_elements() const { return static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols); }
};

// The type llama.cpp gives a tensor: F32 for 1-D tensors, norms, router and conv weights and
// anything not named ".weight"; otherwise the requested type (Q8_0 falls back to F16 for rows
// that are not whole blocks).
GgmlType planned_tensor_type(Role role, std::string_view suffix, size_t n_dims, int64_t row_length,
                             GgmlType requested);

// Maps every checkpoint tensor through the architecture's rules, in checkpoint order (stacked
// experts appear where their layer's last expert tensor is). Errors name the tensor.
Expected<std::vector<PlannedTensor>> plan_tensors(const HfCheckpoint& checkpoint,
                                                  const ArchSpec& spec, GgmlType weight_type);

// The rope layout change of llama.cpp's converter for `heads` heads over `rows` rows.
std::vector<int64_t> rope_row_map(int64_t rows, int64_t heads);
// Value heads grouped by key head → tiled, for the `count - offset` entries after `offset`
// (entries before it stay in place).
std::vector<int64_t> vhead_map(int64_t count, int64_t offset, int64_t k_heads, int64_t v_heads);

}  // namespace qmix
