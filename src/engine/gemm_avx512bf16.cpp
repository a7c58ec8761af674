// AVX-512 BF16 instance of the GEMM template: 12 rows × 32 columns like the f32 kernel, each
// step a pair of k (one dword of X broadcast, 16 pairs of Z per register, vdpbf16ps), and the
// f32 → bf16 rounding of rows.
#include <immintrin.h>

#include <cstring>

#include "engine/gemm_kernel.h"

namespace qmix {
namespace {

struct Avx512Bf16 {
  using Elem = bf16_t;
  using Reg = __m512;
  using ZReg = __m512bh;
  using Mask = __mmask16;
  static constexpr int kLanes = 16;
  static constexpr int kRows = 12;
  static constexpr int64_t kDepthStep = 2;
  static Reg zero() { return _mm512_setzero_ps(); }
  static ZReg broadcast(const bf16_t* p) {
    int32_t pair = 0;
    std::memcpy(&pair, p, sizeof(pair));
    return reinterpret_cast<ZReg>(_mm512_set1_epi32(pair));
  }
  static Reg fma(ZReg x, ZReg z, Reg acc) { return _mm512_dpbf16_ps(acc, x, z); }
  static Mask mask(int64_t n) {
    return n >= 16 ? Mask{0xFFFF} : static_cast<Mask>((1u << static_cast<unsigned>(n)) - 1u);
  }
  static ZReg load_z(const bf16_t* p, Mask m) {
    return reinterpret_cast<ZReg>(_mm512_maskz_loadu_epi32(m, p));
  }
  static Reg load(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, Reg v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
};

}  // namespace

void gemm_bf16_avx512(const GemmBf16Args& g) { gemm_kernel::Tiles<Avx512Bf16>::run(g); }

// vcvtneps2bf16 rounds to nearest even, reads subnormals as zero and quiets NaNs: the
// arithmetic gemm_round_bf16 states.
void round_row_bf16_avx512(const float* src, int64_t n, bf16_t* dst) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i),
                        reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_loadu_ps(src + i))));
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << static_cast<unsigned>(n - i)) - 1u);
    _mm256_mask_storeu_epi16(
        dst + i, m,
        reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + i))));
  }
}

}  // namespace qmix
