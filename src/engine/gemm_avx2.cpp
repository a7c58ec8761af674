// AVX2 micro-kernel: a block of 4 tokens × 3 weight rows keeps 12 accumulators in registers
// (plus 3 weight vectors and 1 activation vector: all 16 ymm registers), so every loaded vector
// feeds 3 or 4 FMAs and the loop runs at the FMA ports' rate instead of the load ports'.
#include <immintrin.h>

#include "engine/gemm.h"

namespace qmix {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// TOKENS × ROWS outputs; k8 = k rounded down to a multiple of 8, the rest added in scalar.
template <int TOKENS, int ROWS>
void block(const GemmArgs& g, int64_t t0, int64_t r0, int64_t k8) {
  __m256 acc[TOKENS][ROWS];
  for (int t = 0; t < TOKENS; ++t)
    for (int r = 0; r < ROWS; ++r) acc[t][r] = _mm256_setzero_ps();
  const float* a[TOKENS];
  const float* b[ROWS];
  for (int t = 0; t < TOKENS; ++t) a[t] = g.a + (t0 + t) * g.lda;
  for (int r = 0; r < ROWS; ++r) b[r] = g.b + (r0 + r) * g.ldb;
  for (int64_t i = 0; i < k8; i += 8) {
    __m256 bv[ROWS];
    for (int r = 0; r < ROWS; ++r) bv[r] = _mm256_loadu_ps(b[r] + i);
    for (int t = 0; t < TOKENS; ++t) {
      const __m256 av = _mm256_loadu_ps(a[t] + i);
      for (int r = 0; r < ROWS; ++r) acc[t][r] = _mm256_fmadd_ps(av, bv[r], acc[t][r]);
    }
  }
  for (int t = 0; t < TOKENS; ++t)
    for (int r = 0; r < ROWS; ++r) {
      float sum = hsum(acc[t][r]);
      for (int64_t i = k8; i < g.k; ++i) sum += a[t][i] * b[r][i];
      g.c[(t0 + t) * g.ldc + r0 + r] = sum;
    }
}

// Rows r0.. of one token group, in blocks of 3 with a 1- or 2-row tail.
template <int TOKENS>
void token_group(const GemmArgs& g, int64_t t0, int64_t k8) {
  int64_t r = 0;
  for (; r + 3 <= g.n_rows; r += 3) block<TOKENS, 3>(g, t0, r, k8);
  for (; r < g.n_rows; ++r) block<TOKENS, 1>(g, t0, r, k8);
}

}  // namespace

void gemm_f32_avx2(const GemmArgs& g) {
  const int64_t k8 = g.k & ~int64_t{7};
  int64_t t = 0;
  for (; t + 4 <= g.n_tokens; t += 4) token_group<4>(g, t, k8);
  for (; t < g.n_tokens; ++t) token_group<1>(g, t, k8);
}

}  // namespace qmix
