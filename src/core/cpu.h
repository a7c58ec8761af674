// Runtime CPU feature detection for choosing SIMD kernels.
#pragma once

namespace qmix {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;  // with the OS saving the opmask and upper ZMM state
  bool avx512bw = false, avx512vl = false, avx512_bf16 = false;
  // AVX2 kernels need all three; QMIX_FORCE_SCALAR=1 turns them off for debugging.
  bool use_avx2() const { return avx2 && fma && f16c; }
  // AVX-512 kernels (built with AVX2 too) need both; QMIX_NO_AVX512=1 turns them off alone.
  bool use_avx512() const { return use_avx2() && avx512f; }
  // The bf16 dot kernels (built with AVX-512F/BW/VL too).
  bool use_avx512_bf16() const { return use_avx512() && avx512bw && avx512vl && avx512_bf16; }
};

// Detected once (the answer never changes while the process runs).
const CpuFeatures& cpu_features();

}  // namespace qmix
