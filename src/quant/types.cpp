#include "quant/types.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "core/cpu.h"
#include "quant/kernels.h"

namespace qmix {
namespace {

using G = GgmlType;
namespace k = kernels;

QuantKernels no_kernels() { return {}; }

// clang-format off
constexpr std::array kTypes = {
  //        id         name       block bytes imatrix partner    scalar         avx2
  QuantType{G::F32,     "f32",       1,   4, false, G::F32,  k::f32_scalar,     k::f32_avx2},
  QuantType{G::F16,     "f16",       1,   2, false, G::F32,  k::f16_scalar,     k::f16_avx2},
  QuantType{G::BF16,    "bf16",      1,   2, false, G::F32,  k::bf16_scalar,    k::bf16_avx2},
  QuantType{G::Q4_0,    "q4_0",     32,  18, false, G::Q8_0, k::q4_0_scalar,    k::q4_0_avx2},
  QuantType{G::Q4_1,    "q4_1",     32,  20, false, G::Q8_1, k::q4_1_scalar,    k::q4_1_avx2},
  QuantType{G::Q5_0,    "q5_0",     32,  22, false, G::Q8_0, k::q5_0_scalar,    k::q5_0_avx2},
  QuantType{G::Q5_1,    "q5_1",     32,  24, false, G::Q8_1, k::q5_1_scalar,    k::q5_1_avx2},
  QuantType{G::Q8_0,    "q8_0",     32,  34, false, G::Q8_0, k::q8_0_scalar,    k::q8_0_avx2},
  QuantType{G::Q8_1,    "q8_1",     32,  36, false, G::Q8_1, k::q8_1_scalar,    k::q8_1_avx2},
  QuantType{G::Q2_K,    "q2_K",    256,  84, false, G::Q8_K, k::q2_k_scalar,    k::q2_k_avx2},
  QuantType{G::Q3_K,    "q3_K",    256, 110, false, G::Q8_K, k::q3_k_scalar,    k::q3_k_avx2},
  QuantType{G::Q4_K,    "q4_K",    256, 144, false, G::Q8_K, k::q4_k_scalar,    k::q4_k_avx2},
  QuantType{G::Q5_K,    "q5_K",    256, 176, false, G::Q8_K, k::q5_k_scalar,    k::q5_k_avx2},
  QuantType{G::Q6_K,    "q6_K",    256, 210, false, G::Q8_K, k::q6_k_scalar,    k::q6_k_avx2},
  QuantType{G::Q8_K,    "q8_K",    256, 292, false, G::Q8_K, k::q8_k_scalar,    k::q8_k_avx2},
  QuantType{G::IQ2_XXS, "iq2_xxs", 256,  66, true,  G::Q8_K, k::iq2_xxs_scalar, k::iq2_xxs_avx2},
  QuantType{G::IQ2_XS,  "iq2_xs",  256,  74, true,  G::Q8_K, k::iq2_xs_scalar,  k::iq2_xs_avx2},
  QuantType{G::IQ2_S,   "iq2_s",   256,  82, false, G::Q8_K, k::iq2_s_scalar,   k::iq2_s_avx2},
  QuantType{G::IQ3_XXS, "iq3_xxs", 256,  98, false, G::Q8_K, k::iq3_xxs_scalar, k::iq3_xxs_avx2},
  QuantType{G::IQ3_S,   "iq3_s",   256, 110, false, G::Q8_K, k::iq3_s_scalar,   k::iq3_s_avx2},
  QuantType{G::IQ1_S,   "iq1_s",   256,  50, true,  G::Q8_K, k::iq1_s_scalar,   k::iq1_s_avx2},
  QuantType{G::IQ1_M,   "iq1_m",   256,  56, false, G::Q8_K, k::iq1_m_scalar,   k::iq1_m_avx2},
  QuantType{G::IQ4_NL,  "iq4_nl",   32,  18, false, G::Q8_0, k::iq4_nl_scalar,  k::iq4_nl_avx2},
  QuantType{G::IQ4_XS,  "iq4_xs",  256, 136, false, G::Q8_K, k::iq4_xs_scalar,  k::iq4_xs_avx2},
  QuantType{G::TQ1_0,   "tq1_0",   256,  54, false, G::Q8_K, k::tq1_0_scalar,   k::tq1_0_avx2},
  QuantType{G::TQ2_0,   "tq2_0",   256,  66, false, G::Q8_K, k::tq2_0_scalar,   k::tq2_0_avx2},
  QuantType{G::MXFP4,   "mxfp4",    32,  17, false, G::Q8_0, k::mxfp4_scalar,   k::mxfp4_avx2},
  // Plain integer/f64 tensors: readable in GGUF files, never quantized to.
  QuantType{G::I8,      "i8",        1,   1, false, G::I8,   no_kernels,        no_kernels},
  QuantType{G::I16,     "i16",       1,   2, false, G::I16,  no_kernels,        no_kernels},
  QuantType{G::I32,     "i32",       1,   4, false, G::I32,  no_kernels,        no_kernels},
  QuantType{G::I64,     "i64",       1,   8, false, G::I64,  no_kernels,        no_kernels},
  QuantType{G::F64,     "f64",       1,   8, false, G::F64,  no_kernels,        no_kernels},
};
// clang-format on

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

struct ResolvedKernels {
  std::array<QuantKernels, kTypes.size()> scalar;
  std::array<QuantKernels, kTypes.size()> active;
};

QuantKernels merge(const QuantKernels& fast, const QuantKernels& ref) {
  QuantKernels k = ref;
  if (fast.quantize) k.quantize = fast.quantize;
  if (fast.dequantize) k.dequantize = fast.dequantize;
  if (fast.dot) k.dot = fast.dot;
  // The reference algorithm stays the scalar one unless a SIMD version of it exists.
  if (fast.quantize_reference) k.quantize_reference = fast.quantize_reference;
  return k;
}

const ResolvedKernels& resolved() {
  static const ResolvedKernels r = [] {
    ResolvedKernels out;
    const bool avx2 = cpu_features().use_avx2();
    for (size_t i = 0; i < kTypes.size(); ++i) {
      out.scalar[i] = kTypes[i].scalar();
      if (out.scalar[i].quantize_reference == nullptr)
        out.scalar[i].quantize_reference = out.scalar[i].quantize;
      out.active[i] = avx2 ? merge(kTypes[i].avx2(), out.scalar[i]) : out.scalar[i];
    }
    return out;
  }();
  return r;
}

size_t index_of(const QuantType& t) { return static_cast<size_t>(&t - kTypes.data()); }

}  // namespace

bool QuantType::is_float() const {
  return id == G::F32 || id == G::F16 || id == G::BF16 || id == G::F64;
}

std::optional<uint64_t> QuantType::row_bytes(int64_t n) const {
  if (n < 0 || n % block_size != 0) return std::nullopt;
  return static_cast<uint64_t>(n / block_size) * static_cast<uint64_t>(block_bytes);
}

const QuantType* find_quant_type(GgmlType id) {
  for (const auto& t : kTypes)
    if (t.id == id) return &t;
  return nullptr;
}

const QuantType* find_quant_type(uint32_t raw_id) {
  return find_quant_type(static_cast<GgmlType>(raw_id));
}

Expected<const QuantType*> quant_type_by_name(std::string_view name) {
  for (const auto& t : kTypes)
    if (iequals(t.name, name)) return &t;
  return make_error(ErrorCode::kInvalidArgument, "unknown type '{}' (valid: {})", name,
                    quant_type_names());
}

const QuantType& quant_type(GgmlType id) {
  const QuantType* t = find_quant_type(id);
  QMIX_CHECK(t != nullptr);
  return *t;
}

std::span<const QuantType> all_quant_types() { return kTypes; }

std::string quant_type_names() {
  std::string out;
  for (const auto& t : kTypes) {
    if (!out.empty()) out += ", ";
    out += t.name;
  }
  return out;
}

const QuantKernels& active_kernels(const QuantType& type) {
  return resolved().active[index_of(type)];
}
const QuantKernels& scalar_kernels(const QuantType& type) {
  return resolved().scalar[index_of(type)];
}

}  // namespace qmix
