// Scans over grid points for the IQ2/IQ3 searches, in lanes where the CPU has them.
//
// A group of values (8 for IQ2, 4 for IQ3) placed on a grid point costs the sum of one table
// entry per element, picked by that element's level: cost[element][level]. Both of our grid
// searches have this shape once the per-element terms are tabulated:
//   - ggml's neighbour search (iq2_search.cpp): term = waux * (scale * q - x)², summed over the
//     few candidates of an off-grid code; with the terms tabulated exactly as ggml's loop
//     computes them and summed in its order, the chosen candidate is ggml's, bit for bit;
//   - our refinement (iq2_refine.cpp): every grid point, with the cheapest sign flip.
// Candidates are given by their codes (levels packed as in Lattice::code_of), so the lanes
// read them from one contiguous array. Every ISA returns the same positions: each candidate's
// sum is formed in the same order, and ties go to the first candidate as in a scalar loop.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "quant/iq2_lattice.h"

namespace qmix::iq2 {

enum class ScanIsa { kScalar, kAvx2, kAvx512 };
// The widest SIMD kernels the CPU runs (AVX-512, else AVX2); kScalar without AVX2 or with
// QMIX_FORCE_SCALAR set.
ScanIsa simd_scan_isa();

enum class FlipSearch {
  kNone,          // only the plain sums
  kCheapestFlip,  // also each candidate's sum plus its cheapest flip: min over elements
};

// Tables over the fields of a code: field f is bits field_bits*f.. of the code, and entry i of
// a table is the field's value at (i & field mask); 16 entries, so that a lane indexes them with
// the low bits of a shifted code without masking. Built per element (a field is an element's
// level), and for groups of 8 optionally per pair of elements (4-bit fields: half the lookups).
struct LevelTables {
  explicit LevelTables(LatticeShape s) : shape(s), fields(s.group_size), field_bits(s.level_bits) {}
  LatticeShape shape;
  int fields, field_bits;
  // Only the rows set are read (flip only with kCheapestFlip); left uninitialized because the
  // searches build one per group and scan.
  alignas(64) float cost[8][16];
  alignas(64) float flip[8][16];  // extra cost of a wrong sign, with kCheapestFlip

  // Sets element j's value at every level (levels 0..count-1 given) in `table`.
  void set(float (&table)[8][16], int j, const float* values, int count) {
    const int mask = (1 << shape.level_bits) - 1;
    for (int i = 0; i < 16; ++i) table[j][i] = (i & mask) < count ? values[i & mask] : 0.f;
  }
  // Per-element tables of a group of 8 as 4 pair tables: a pair's cost is the sum of its two
  // elements' costs, its flip (with kCheapestFlip) the smaller of their flips. Sums over a code
  // then run in pairs.
  LevelTables paired(FlipSearch flips) const;
};

struct ScanBest {
  int natural = 0;  // position of the first smallest sum (0 if none is below FLT_MAX)
  float natural_cost = 0;
  int flipped = 0;  // position of the first smallest sum + cheapest flip (with kCheapestFlip)
  float flipped_cost = 0;
};

ScanBest scan_codes(const LevelTables& t, std::span<const uint16_t> codes, FlipSearch flips,
                    ScanIsa isa);

// The kernels behind scan_codes (iq2_scan_avx2.cpp, iq2_scan_avx512.cpp), compiled with their
// ISA's flags; call only where the CPU has it.
ScanBest scan_codes_avx2(const LevelTables& t, std::span<const uint16_t> codes, FlipSearch flips);
ScanBest scan_codes_avx512(const LevelTables& t, std::span<const uint16_t> codes, FlipSearch flips);

// ggml's neighbour choice (iq2_search.cpp) in one AVX-512 or AVX2 call: the position in `codes` of
// the first candidate with the smallest Σ waux (scale (2 level + 1) - xval)², each term computed as
// ggml's loop computes it and summed in its order, so the position is ggml's. `codes` must be
// readable 15 entries past its end (Lattice pads its neighbour lists so).
int nearest_candidate_avx512(LatticeShape shape, const float* xval, const float* waux, float scale,
                             std::span<const uint16_t> codes);
int nearest_candidate_avx2(LatticeShape shape, const float* xval, const float* waux, float scale,
                           std::span<const uint16_t> codes);

// ggml's rounding of n values (a multiple of 16) to levels at inverse scale id:
// clamp(nearest_int(0.5 (id x - 1)), 0, max_level), the same float steps on every isa.
void round_levels(const float* x, int n, float id, int max_level, int8_t* L, ScanIsa isa);
void round_levels_avx2(const float* x, int n, float id, int max_level, int8_t* L);
void round_levels_avx512(const float* x, int n, float id, int max_level, int8_t* L);

// Level of element j in a code.
inline int level_of(LatticeShape shape, uint16_t code, int j) {
  return (code >> (shape.level_bits * j)) & ((1 << shape.level_bits) - 1);
}

}  // namespace qmix::iq2
