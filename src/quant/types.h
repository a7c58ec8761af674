// The one table of ggml tensor types. Every fact about a type (id, name, block geometry,
// whether it needs an imatrix, its kernels, the activation type its dot product takes)
// lives in its row; the rest of qmix asks the table and never switches over types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"
#include "quant/ggml_type.h"

namespace qmix {

// Row kernels. `n` is the number of values in the row (a multiple of the block size).
// quantize: imatrix is null or holds n per-column importances (used exactly as the format's
//   reference quantizer uses them). Input must be finite (checked by quantize_rows()).
using QuantizeRowFn = void (*)(const float* src, void* dst, int64_t n, const float* imatrix);
using DequantizeRowFn = void (*)(const void* src, float* dst, int64_t n);
// dot of one weight row with one activation row already converted to the partner type.
using DotFn = float (*)(const void* weights, const void* activations, int64_t n);

struct QuantKernels {
  QuantizeRowFn quantize = nullptr;            // best available (may search harder than ggml)
  QuantizeRowFn quantize_reference = nullptr;  // ggml's algorithm; null = same as quantize
  DequantizeRowFn dequantize = nullptr;
  DotFn dot = nullptr;
};

struct QuantType {
  GgmlType id;
  std::string_view name;     // as ggml spells it: "q4_K", "iq2_xxs", "bf16"
  int64_t block_size;        // values per block
  int64_t block_bytes;       // bytes per block
  bool needs_imatrix;        // quantizing without an imatrix is an error (IQ1/IQ2 family)
  GgmlType dot_partner;      // activation format taken by `dot`
  QuantKernels (*scalar)();  // reference kernels (the specification)
  QuantKernels (*avx2)();    // AVX2+FMA+F16C kernels; null entries fall back to scalar

  bool is_float() const;  // F32/F16/BF16/F64
  // Bytes of a row of n values; nullopt if n is not a multiple of the block size.
  std::optional<uint64_t> row_bytes(int64_t n) const;
  double bits_per_weight() const {
    return 8.0 * static_cast<double>(block_bytes) / static_cast<double>(block_size);
  }
};

// The table lookups. Unknown ids/names are errors for the caller to put in context.
const QuantType* find_quant_type(GgmlType id);
const QuantType* find_quant_type(uint32_t raw_id);
Expected<const QuantType*> quant_type_by_name(std::string_view name);  // case-insensitive
const QuantType& quant_type(GgmlType id);  // for ids known to be valid (QMIX_CHECK)
std::span<const QuantType> all_quant_types();
std::string quant_type_names();  // "f32, f16, q4_0, …" for error messages

// Kernels to run now: AVX2 entries where the CPU has them (and QMIX_FORCE_SCALAR is unset),
// scalar otherwise. Resolved once per type.
const QuantKernels& active_kernels(const QuantType& type);
const QuantKernels& scalar_kernels(const QuantType& type);

}  // namespace qmix
