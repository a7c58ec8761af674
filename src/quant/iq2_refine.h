// Our harder search for the IQ2 formats (IQ2_XXS, IQ2_XS, IQ2_S), same byte layout as ggml's.
// Starting from ggml's result it alternates exact steps that can only lower the block's error
// Σ w (x - x̂)² (w = the imatrix, or 1 without one):
//   1. every group of 8: the best grid point and signs over the whole grid (ggml only tries the
//      rounded point or its nearest neighbours) at the sub-block's actual stored scale,
//   2. every sub-block: the best 4-bit scale code,
//   3. the fp16 super-scale: the least-squares optimum and its fp16 neighbours.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "core/fp16.h"
#include "quant/iq2_lattice.h"

namespace qmix::iq2 {

struct Iq2Format {
  Codebook book;
  std::span<const uint64_t> grid;
  int sub_size;      // values per scale code: 32 (IQ2_XXS) or 16
  bool even_parity;  // signs stored as 7 bits + parity (IQ2_XXS, IQ2_XS)
};

// A block in decoded form: value i of group k in sub-block b is
//   fp16(d) * (0.5 + scale[b]) / 4 * grid[index[k]][i] * (sign bit i of signs[k] ? -1 : 1).
struct Iq2Block {
  fp16_t d = 0;
  std::array<int, 16> scale{};
  std::array<uint16_t, 32> index{};
  std::array<uint8_t, 32> signs{};
};

// Lowers (never raises) the weighted error of `block` for the 256 values x.
void refine_iq2(const Iq2Format& format, const float* x, const float* w, Iq2Block& block);

// Weighted squared error of a decoded block.
double iq2_block_error(const Iq2Format& format, const float* x, const float* w,
                       const Iq2Block& block);

// Refines every block of a row quantized by ggml's algorithm; decode/encode convert between
// the format's bytes and Iq2Block.
template <typename Block>
void refine_iq2_row(const Iq2Format& format, const float* src, const float* imatrix, int64_t n,
                    Block* blocks, Iq2Block (*decode)(const Block&),
                    void (*encode)(const Iq2Block&, Block&)) {
  std::array<float, 256> ones;
  ones.fill(1.f);
  for (int64_t b = 0; b < n / 256; ++b) {
    Iq2Block block = decode(blocks[b]);
    refine_iq2(format, src + 256 * b, imatrix ? imatrix + 256 * b : ones.data(), block);
    encode(block, blocks[b]);
  }
}

}  // namespace qmix::iq2
