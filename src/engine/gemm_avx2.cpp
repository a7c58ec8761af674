// AVX2 instance of the GEMM template: 6 rows × 16 columns, 12 accumulators of 16 registers.
#include <immintrin.h>

#include "engine/gemm_kernel.h"

namespace qmix {
namespace {

struct Avx2 {
  using Elem = float;
  using Reg = __m256;
  using ZReg = Reg;
  using Mask = __m256i;
  static constexpr int kLanes = 8;
  static constexpr int kRows = 6;
  static constexpr int64_t kDepthStep = 1;
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg broadcast(const float* p) { return _mm256_set1_ps(*p); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  static Mask mask(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static Reg load(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
  static Reg load_z(const float* p, Mask m) { return load(p, m); }
  static void store(float* p, Reg v, Mask m) { _mm256_maskstore_ps(p, m, v); }
};

}  // namespace

void gemm_f32_avx2(const GemmArgs& g) { gemm_kernel::Tiles<Avx2>::run(g); }

}  // namespace qmix
