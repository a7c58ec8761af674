#include "quant/iq2_scan.h"

#include <cfloat>

#include "core/cpu.h"

namespace qmix::iq2 {
namespace {

template <int kSize, int kBits>
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
  return t.shape.group_size == 8 ? scan_scalar<8, 2>(t, codes, flips)
                                 : scan_scalar<4, 3>(t, codes, flips);
}

}  // namespace qmix::iq2
