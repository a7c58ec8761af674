// `qmix recipe diff`: per-tensor type changes between two type tables (each from a GGUF or a
// recipe resolved against a model), grouped into zones — "blk.12-16 ffn_gate, ffn_up
// q5_K → q4_K" — with the size and bits-per-weight of both sides where shapes are known.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "recipe/recipe_apply.h"

namespace qmix {

struct DiffZone {
  std::vector<std::string> what;  // role names ("ffn_gate"), or tensor names outside roles
  LayerSet layers;                // empty: tensors outside blk.N
  GgmlType from = GgmlType::F32;
  GgmlType to = GgmlType::F32;
  size_t tensors = 0;
  std::optional<int64_t> bytes_delta;  // nullopt: shapes unknown
};

struct TableSize {
  std::optional<uint64_t> bytes;  // nullopt: some shape unknown
  uint64_t elements = 0;
  std::optional<double> bpw() const;
};

struct TypeDiff {
  std::vector<DiffZone> zones;
  size_t compared = 0;  // tensors present in both tables
  size_t changed = 0;
  std::vector<std::string> only_in_a, only_in_b;
  TableSize size_a, size_b;  // over the tensors present in both
};

// Tensors are matched by name; `type` of each TensorDesc is the side's type. Shapes come from
// either side.
TypeDiff diff_type_tables(std::span<const TensorDesc> a, std::span<const TensorDesc> b);

// Aligned text: one line per zone, then totals ("size 2.41 MB → 2.26 MB (-6.2%), bpw 5.12 → 4.80").
std::string format_diff(const TypeDiff& diff, std::string_view name_a, std::string_view name_b);

}  // namespace qmix
