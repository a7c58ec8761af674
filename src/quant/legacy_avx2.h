// AVX2 kernels of the 32-value block formats (q4_0, q4_1, q5_0, q5_1, q8_0, iq4_nl, mxfp4) and
// of the Q8_0/Q8_1 activation quantizers. Include only from *_avx2.cpp files. Integer sums are
// exact and the float steps (block order, lanes of block_sum.h) are the scalar kernels' own, so
// dots, dequantization and quantization all return the scalar results bit for bit.
#pragma once

#include <cmath>

#include "quant/avx2_common.h"
#include "quant/block_layouts.h"
#include "quant/block_sum.h"
#include "quant/legacy_common.h"

namespace qmix::legacy_avx2 {

using layout::kQK;

// The 32 levels of a block as bytes (the fifth bit added for q5 formats).
template <class Block>
__m256i levels(const Block& b) {
  const __m256i low = simd::unpack_nibbles(b.qs);
  if constexpr (legacy::kBits<Block> == 5) {
    const __m256i high = simd::bit_mask32(layout::load_u32_le(b.qh));
    return _mm256_or_si256(low, _mm256_and_si256(high, _mm256_set1_epi8(0x10)));
  } else {
    return low;
  }
}

// Integer values of a symmetric block (level - 2^(bits-1)), as legacy::decode_block.
template <class Block>
__m256i symmetric_values(const Block& b) {
  return _mm256_sub_epi8(levels(b), _mm256_set1_epi8(static_cast<char>(legacy::kHalfRange<Block>)));
}

struct Decoded {
  __m256i values;  // 32 signed bytes
  float d;
};

// One block's share of a dot: exact int32 partial sums, the float factor they are scaled by,
// and (affine formats) the float added after scaling.
struct BlockTerms {
  __m256i sums;
  float scale;
  float offset = 0;
};

// The four blocks' totals, block i in lane i (exact integer sums).
inline __m128i hsum4(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i abcd = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, d));
  return _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1));
}

// Σ over blocks of float(sum) * scale [+ offset], four blocks per step in the lanes of
// block_sum.h (block b adds into lane b % 4): each lane sees the scalar kernels' float steps.
template <bool kOffset, class Terms>
float sum_blocks(int64_t nblocks, Terms terms) {
  __m128 lanes = _mm_setzero_ps();
  int64_t b = 0;
  for (; b + kDotLanes <= nblocks; b += kDotLanes) {
    const BlockTerms t[4] = {terms(b), terms(b + 1), terms(b + 2), terms(b + 3)};
    const __m128 sums = _mm_cvtepi32_ps(hsum4(t[0].sums, t[1].sums, t[2].sums, t[3].sums));
    __m128 c = _mm_mul_ps(sums, _mm_setr_ps(t[0].scale, t[1].scale, t[2].scale, t[3].scale));
    if constexpr (kOffset)
      c = _mm_add_ps(c, _mm_setr_ps(t[0].offset, t[1].offset, t[2].offset, t[3].offset));
    lanes = _mm_add_ps(lanes, c);
  }
  DotLanes out;
  _mm_storeu_ps(out.lane, lanes);
  for (; b < nblocks; ++b) {
    const BlockTerms t = terms(b);
    float c = static_cast<float>(simd::hsum_i32(t.sums)) * t.scale;
    if constexpr (kOffset) c += t.offset;
    out.lane[b % kDotLanes] += c;
  }
  return out.total();
}

// Dot with Q8_0 activations; decode(block) -> Decoded. Same contributions and order as
// legacy::dot_with_q8_0.
template <class Block, class Decode>
float dot_with_q8_0(const void* weights, const void* activations, int64_t n, Decode decode) {
  const Block* x = static_cast<const Block*>(weights);
  const auto* y = static_cast<const layout::BlockQ8_0*>(activations);
  return sum_blocks<false>(n / kQK, [&](int64_t b) {
    const Decoded w = decode(x[b]);
    return BlockTerms{simd::dot_i8(w.values, simd::load32(y[b].qs)),
                      w.d * simd::half_to_float(y[b].d)};
  });
}

// Dot of an affine block with Q8_1 activations, as legacy::dot_affine.
template <class Block>
float dot_affine(const void* weights, const void* activations, int64_t n) {
  const Block* x = static_cast<const Block*>(weights);
  const auto* y = static_cast<const layout::BlockQ8_1*>(activations);
  return sum_blocks<true>(n / kQK, [&](int64_t b) {
    return BlockTerms{simd::dot_u8_i8(levels(x[b]), simd::load32(y[b].qs)),
                      simd::half_to_float(x[b].d) * simd::half_to_float(y[b].d),
                      simd::half_to_float(x[b].m) * simd::half_to_float(y[b].s)};
  });
}

template <class Block, class Decode>
void dequantize_row(const void* src, float* dst, int64_t n, Decode decode) {
  const Block* x = static_cast<const Block*>(src);
  for (int64_t ib = 0; ib < n / kQK; ++ib) {
    const Decoded w = decode(x[ib]);
    simd::store_scaled(w.values, w.d, dst + ib * kQK);
  }
}

template <class Block>
void dequantize_affine(const void* src, float* dst, int64_t n) {
  const Block* x = static_cast<const Block*>(src);
  for (int64_t ib = 0; ib < n / kQK; ++ib)
    simd::store_scaled_offset(levels(x[ib]), simd::half_to_float(x[ib].d),
                              simd::half_to_float(x[ib].m), dst + ib * kQK);
}

template <class Block>
Decoded decode_symmetric(const Block& b) {
  return {symmetric_values(b), simd::half_to_float(b.d)};
}

// Q8 activation quantization of one block (legacy::quantize_block_q8): d = max|x| / 127 and
// q = round(x / d) half away from zero. Returns d; writes the 32 values and their sum.
float quantize_block_q8(const float* x, int8_t* qs, int32_t* sum);

}  // namespace qmix::legacy_avx2
