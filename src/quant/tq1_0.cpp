// tq1_0: ternary values packed as base-3 digits, five per byte (3^5 = 243 <= 256), stored
// as ceil(n * 256 / 243) so that digit k reads back as ((byte * 3^k) mod 256) * 3 >> 8.
// ggml ignores imatrix data here.
#include <cstddef>

#include "quant/kernels.h"
#include "quant/ternary_common.h"

namespace qmix::kernels {
namespace {

using layout::BlockTQ1_0;
using ternary::kQKK;

// Byte i of a group holds the values first_value + i + k * bytes, digit k most significant.
struct TritGroup {
  int first_byte;  // offset in the block (qs, then qh at 48)
  int bytes;
  int digits;
  int first_value;
};
constexpr TritGroup kGroups[] = {{0, 32, 5, 0}, {32, 16, 5, 160}, {48, 4, 4, 240}};
static_assert(offsetof(BlockTQ1_0, qh) == 48);

constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};

void encode_group(const float* x, float id, const TritGroup& g, uint8_t* bytes) {
  for (int i = 0; i < g.bytes; ++i) {
    int q = 0;
    for (int k = 0; k < 5; ++k)  // a 4-digit group's missing last digit is 0
      q = q * 3 + (k < g.digits ? ternary::trit(x[g.first_value + i + k * g.bytes], id) : 0);
    bytes[g.first_byte + i] = static_cast<uint8_t>((q * 256 + 242) / 243);
  }
}

void quantize_row_reference(const float* src, void* dst, int64_t n, const float* /*imatrix*/) {
  BlockTQ1_0* y = static_cast<BlockTQ1_0*>(dst);
  for (int64_t ib = 0; ib < n / kQKK; ++ib) {
    const float* x = src + ib * kQKK;
    float id = 0;
    y[ib].d = fp32_to_fp16(ternary::block_scale(x, &id));
    for (const TritGroup& g : kGroups) encode_group(x, id, g, reinterpret_cast<uint8_t*>(&y[ib]));
  }
}

// Values t in {-1, 0, 1} in element order.
void decode(const BlockTQ1_0& b, int8_t* values) {
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(&b);
  for (const TritGroup& g : kGroups) {
    for (int k = 0; k < g.digits; ++k) {
      for (int i = 0; i < g.bytes; ++i) {
        const uint8_t shifted = static_cast<uint8_t>(bytes[g.first_byte + i] * kPow3[k]);
        values[g.first_value + i + k * g.bytes] = static_cast<int8_t>(((shifted * 3) >> 8) - 1);
      }
    }
  }
}

void dequantize_row(const void* src, float* dst, int64_t n) {
  ternary::dequantize_row<BlockTQ1_0>(src, dst, n, decode);
}

float dot(const void* weights, const void* activations, int64_t n) {
  return ternary::dot_with_q8_k<BlockTQ1_0>(weights, activations, n, decode);
}

}  // namespace

QuantKernels tq1_0_scalar() {
  QuantKernels k;
  k.quantize = quantize_row_reference;
  k.dequantize = dequantize_row;
  k.dot = dot;
  return k;
}

}  // namespace qmix::kernels
