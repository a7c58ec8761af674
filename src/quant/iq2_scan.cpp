#include "quant/iq2_scan.h"

#include <algorithm>
#include <bit>
#include <cfloat>

#include "core/cpu.h"

namespace qmix::iq2 {
namespace {

template <int kSize, int kBits>  // kSize fields of kBits each
ScanBest scan_scalar(const LevelTables& t, std::span<const uint16_t> codes, FlipSearch flips) {
  constexpr int kMask = (1 << kBits) - 1;
  ScanBest best;
  best.natural_cost = FLT_MAX;
  best.flipped_cost = FLT_MAX;
  for (size_t k = 0; k < codes.size(); ++k) {
    const uint16_t code = codes[k];
    float c = t.cost[0][code & kMask];
    for (int j = 1; j < kSize; ++j) c = c + t.cost[j][(code >> (kBits * j)) & kMask];
    if (c < best.natural_cost) {
      best.natural_cost = c;
      best.natural = static_cast<int>(k);
    }
    if (flips == FlipSearch::kNone) continue;
    float p = t.flip[0][code & kMask];
    for (int j = 1; j < kSize; ++j) {
      const float f = t.flip[j][(code >> (kBits * j)) & kMask];
      p = f < p ? f : p;  // the lanes' min
    }
    const float fc = c + p;
    if (fc < best.flipped_cost) {
      best.flipped_cost = fc;
      best.flipped = static_cast<int>(k);
    }
  }
  return best;
}

}  // namespace

LevelTables LevelTables::paired(FlipSearch flips) const {
  LevelTables out(shape);
  out.fields = 4;
  out.field_bits = 4;
  for (int p = 0; p < 4; ++p)
    for (int e = 0; e < 16; ++e) {
      out.cost[p][e] = cost[2 * p][e & 3] + cost[2 * p + 1][e >> 2];
      if (flips == FlipSearch::kNone) continue;
      const float a = flip[2 * p][e & 3], b = flip[2 * p + 1][e >> 2];
      out.flip[p][e] = b < a ? b : a;
    }
  return out;
}

void round_levels(const float* x, int n, float id, int max_level, int8_t* L, ScanIsa isa) {
  switch (isa) {
    case ScanIsa::kAvx512:
      return round_levels_avx512(x, n, id, max_level, L);
    case ScanIsa::kAvx2:
      return round_levels_avx2(x, n, id, max_level, L);
    case ScanIsa::kScalar:
      break;
  }
  for (int i = 0; i < n; ++i) {
    const float shifted = 0.5f * (id * x[i] - 1) + 12582912.f;  // ggml's nearest_int
    const int l = (std::bit_cast<int32_t>(shifted) & 0x007fffff) - 0x00400000;
    L[i] = static_cast<int8_t>(std::max(0, std::min(max_level, l)));
  }
}

ScanIsa simd_scan_isa() {
  const CpuFeatures& cpu = cpu_features();
  return cpu.use_avx512() ? ScanIsa::kAvx512 : cpu.use_avx2() ? ScanIsa::kAvx2 : ScanIsa::kScalar;
}

ScanBest scan_codes(const LevelTables& t, std::span<const uint16_t> codes, FlipSearch flips,
                    ScanIsa isa) {
  switch (isa) {
    case ScanIsa::kAvx512:
      return scan_codes_avx512(t, codes, flips);
    case ScanIsa::kAvx2:
      return scan_codes_avx2(t, codes, flips);
    case ScanIsa::kScalar:
      break;
  }
  if (t.field_bits == 4) return scan_scalar<4, 4>(t, codes, flips);
  return t.fields == 8 ? scan_scalar<8, 2>(t, codes, flips) : scan_scalar<4, 3>(t, codes, flips);
}

}  // namespace qmix::iq2
