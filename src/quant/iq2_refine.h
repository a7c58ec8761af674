// Our harder search for the grid formats (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S), same byte
// layout as ggml's. Starting from ggml's result it alternates exact steps that can only lower
// the block's error Σ w (x - x̂)² (w = the imatrix, or 1 without one):
//   1. every sign group of 8: the best grid points and signs over the whole grid (ggml only
//      tries the rounded point or its nearest neighbours) at the sub-block's actual stored
//      scale, honouring the even-parity sign rule where the format has it,
//   2. every sub-block: the best 4-bit scale code,
//   3. the fp16 super-scale: the least-squares optimum and its fp16 neighbours.
#pragma once

#include <array>
#include <cstdint>

#include "core/fp16.h"
#include "quant/iq2_lattice.h"
#include "quant/iq2_scan.h"

namespace qmix::iq2 {

struct GridFormat {
  Codebook book;
  std::array<uint8_t, 8> magnitudes;  // byte value of each level in the dequantization grid
  int sub_size;                       // values per scale code: 32 or 16
  bool even_parity;                   // signs stored as 7 bits + parity (IQ2_XXS/XS, IQ3_XXS)
  // Sub-block multiplier of the grid bytes: fp16(d) * (offset + code) * factor, as the format's
  // dequantizer computes it: (0.5, 0.25) for IQ2, (0.5, 0.5) IQ3_XXS, (0.5, 2) IQ3_S.
  float scale_offset;
  float scale_factor;
  // Rounds of steps 1-3 at most (a round that does not lower the error ends the search): the
  // budget that keeps our default at least as fast as ggml's algorithm on one thread
  // (docs/performance.md, issue #4).
  int rounds;
};

inline constexpr int kMaxGridGroups = 64;  // groups of 4 in a 256-value IQ3 block

// A block in decoded form: value i (group k = i / group size, sign group i / 8, sub-block b) is
//   sub_scale(b) * magnitude[level of grid point index[k] at i] * (sign bit i%8 of signs[i/8] ? -1
//   : 1).
struct GridBlock {
  fp16_t d = 0;
  std::array<int, 16> scale{};
  std::array<uint16_t, kMaxGridGroups> index{};
  std::array<uint8_t, 32> signs{};
};

// Lowers (never raises) the weighted error of `block` for the 256 values x. Every isa gives
// the same block.
void refine_grid_block(const GridFormat& format, const float* x, const float* w, GridBlock& block,
                       ScanIsa isa);

// Weighted squared error of a decoded block.
double grid_block_error(const GridFormat& format, const float* x, const float* w,
                        const GridBlock& block);

// Refines every block of a row quantized by ggml's algorithm; decode/encode convert between
// the format's bytes and GridBlock.
template <typename Block>
void refine_grid_row(const GridFormat& format, const float* src, const float* imatrix, int64_t n,
                     Block* blocks, GridBlock (*decode)(const Block&),
                     void (*encode)(const GridBlock&, Block&), ScanIsa isa) {
  std::array<float, 256> ones;
  ones.fill(1.f);
  for (int64_t b = 0; b < n / 256; ++b) {
    GridBlock block = decode(blocks[b]);
    refine_grid_block(format, src + 256 * b, imatrix ? imatrix + 256 * b : ones.data(), block, isa);
    encode(block, blocks[b]);
  }
}

}  // namespace qmix::iq2
