// AVX-512 instance of the GEMM template: 12 rows × 32 columns, 24 accumulators of 32
// registers. Masked loads and stores handle the column tail without touching memory past it.
#include <immintrin.h>

#include "engine/gemm_kernel.h"

namespace qmix {
namespace {

struct Avx512 {
  using Elem = float;
  using Reg = __m512;
  using ZReg = Reg;
  using Mask = __mmask16;
  static constexpr int kLanes = 16;
  static constexpr int kRows = 12;
  static constexpr int64_t kDepthStep = 1;
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static Mask mask(int64_t n) {
    return n >= 16 ? Mask{0xFFFF} : static_cast<Mask>((1u << static_cast<unsigned>(n)) - 1u);
  }
  static Reg load(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static Reg load_z(const float* p, Mask m) { return load(p, m); }
  static void store(float* p, Reg v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
};

}  // namespace

void gemm_f32_avx512(const GemmArgs& g) { gemm_kernel::Tiles<Avx512>::run(g); }

}  // namespace qmix
