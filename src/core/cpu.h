// Runtime CPU feature detection for choosing SIMD kernels.
#pragma once

namespace qmix {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  // AVX2 kernels need all three; QMIX_FORCE_SCALAR=1 turns them off for debugging.
  bool use_avx2() const { return avx2 && fma && f16c; }
};

// Detected once (the answer never changes while the process runs).
const CpuFeatures& cpu_features();

}  // namespace qmix
