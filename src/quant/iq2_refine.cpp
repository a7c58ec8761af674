#include "quant/iq2_refine.h"

#include <array>
#include <bit>
#include <cfloat>
#include <cmath>
#include <limits>

namespace qmix::iq2 {
namespace {

constexpr int kValues = 256;
constexpr double kInf = std::numeric_limits<double>::infinity();

double sub_scale(const GridFormat& f, const GridBlock& b, int sub) {
  return static_cast<double>(fp16_to_fp32(b.d)) *
         (f.scale_offset + b.scale[static_cast<size_t>(sub)]) * f.scale_factor;
}

// The best grid point of one group with the signs of x (natural), and with one sign flipped
// (the cheapest flip for that point), at scale s. The per-element costs are tabulated in float
// and every grid point is scanned in lanes (iq2_scan.h).
struct GroupChoice {
  double natural_cost = kInf, flipped_cost = kInf;
  uint16_t natural_index = 0, flipped_index = 0;
  int flipped_element = 0;  // within the group
};

GroupChoice best_points(const GridFormat& f, const Lattice& lattice, const float* x, const float* w,
                        double s, ScanIsa isa) {
  const int size = lattice.group_size();
  LevelTables t(lattice.shape());
  const auto sf = static_cast<float>(s);
  const int levels = lattice.max_level() + 1;
  const FlipSearch flips = f.even_parity ? FlipSearch::kCheapestFlip : FlipSearch::kNone;
  for (int j = 0; j < size; ++j) {
    const float a = std::fabs(x[j]), wj = w[j];
    float cost[8], flip[8];
    for (int l = 0; l < levels; ++l) {
      const float q = sf * static_cast<float>(f.magnitudes[static_cast<size_t>(l)]);
      cost[l] = wj * (q * q - 2 * a * q);
      flip[l] = 4 * wj * a * q;  // extra cost of giving element j the wrong sign
    }
    t.set(t.cost, j, cost, levels);
    if (flips == FlipSearch::kCheapestFlip) t.set(t.flip, j, flip, levels);
  }
  // Groups of 8 scan in pairs of elements (4 lookups per point instead of 8).
  const ScanBest scan =
      scan_codes(size == 8 ? t.paired(flips) : t, lattice.point_codes(), flips, isa);
  GroupChoice best;
  best.natural_cost = scan.natural_cost;
  best.natural_index = static_cast<uint16_t>(scan.natural);
  if (flips == FlipSearch::kNone) return best;
  best.flipped_cost = scan.flipped_cost;
  best.flipped_index = static_cast<uint16_t>(scan.flipped);
  // The element whose flip the scan took: the first one with the smallest flip cost.
  const Lattice::Levels& point = lattice.levels(scan.flipped);
  float penalty = FLT_MAX;
  for (int j = 0; j < size; ++j) {
    const float flip = t.flip[j][point[static_cast<size_t>(j)]];
    if (flip < penalty) {
      penalty = flip;
      best.flipped_element = j;
    }
  }
  return best;
}

// Step 1 for the sign group of values 8*g..8*g+7 at scale s: each of its grid groups takes its
// best natural point; with an odd count of negatives under the parity rule, the one group whose
// flip costs least takes its best flipped point instead.
void best_sign_group(const GridFormat& f, const float* x, const float* w, double s, int g,
                     GridBlock& b, ScanIsa isa) {
  const Lattice& lattice = iq2::lattice(f.book);
  const int size = lattice.group_size();
  uint8_t natural = 0;
  for (int j = 0; j < 8; ++j)
    if (x[j] < 0) natural = static_cast<uint8_t>(natural | (1 << j));
  const bool odd = f.even_parity && std::popcount(natural) % 2 != 0;
  GroupChoice choice[2];
  int flipped = -1;
  double extra = kInf;
  for (int h = 0; h < 8 / size; ++h) {
    choice[h] = best_points(f, lattice, x + size * h, w + size * h, s, isa);
    const double e = choice[h].flipped_cost - choice[h].natural_cost;
    if (odd && e < extra) {
      extra = e;
      flipped = h;
    }
  }
  uint8_t signs = natural;
  for (int h = 0; h < 8 / size; ++h) {
    const size_t k = static_cast<size_t>(8 / size * g + h);
    if (h == flipped) {
      b.index[k] = choice[h].flipped_index;
      signs = static_cast<uint8_t>(signs ^ (1 << (size * h + choice[h].flipped_element)));
    } else {
      b.index[k] = choice[h].natural_index;
    }
  }
  b.signs[static_cast<size_t>(g)] = signs;
}

// A block's values at unit scale (magnitude * sign), as floats (exact: small integers).
using UnitValues = std::array<float, kValues>;

UnitValues unit_values(const GridFormat& f, const GridBlock& b) {
  const Lattice& lattice = iq2::lattice(f.book);
  const int size = lattice.group_size();
  UnitValues u;
  for (int k = 0; k < kValues / size; ++k) {
    const Lattice::Levels& levels = lattice.levels(b.index[static_cast<size_t>(k)]);
    for (int j = 0; j < size; ++j) {
      const int i = size * k + j;
      const auto q =
          static_cast<float>(f.magnitudes[static_cast<size_t>(levels[static_cast<size_t>(j)])]);
      u[static_cast<size_t>(i)] = b.signs[static_cast<size_t>(i / 8)] >> (i % 8) & 1 ? -q : q;
    }
  }
  return u;
}

// Σ w x q and Σ w q² of each sub-block's unit values.
struct Moments {
  double xq = 0, qq = 0;
};
using SubMoments = std::array<Moments, 16>;

SubMoments sub_moments(const GridFormat& f, const float* x, const float* w, const UnitValues& u) {
  SubMoments m{};
  for (int sub = 0; sub < kValues / f.sub_size; ++sub)
    for (int i = sub * f.sub_size; i < (sub + 1) * f.sub_size; ++i) {
      const double q = u[static_cast<size_t>(i)];
      m[static_cast<size_t>(sub)].xq += w[i] * x[i] * q;
      m[static_cast<size_t>(sub)].qq += w[i] * q * q;
    }
  return m;
}

// Step 2: the scale code minimizing Σ w (x - t q)² with t the code's sub-block multiplier.
void best_scale_codes(const GridFormat& f, const SubMoments& m, GridBlock& b) {
  const double d = fp16_to_fp32(b.d);
  for (int sub = 0; sub < kValues / f.sub_size; ++sub) {
    const Moments& ms = m[static_cast<size_t>(sub)];
    double best = kInf;
    for (int l = 0; l < 16; ++l) {
      const double t = d * (f.scale_offset + l) * f.scale_factor;
      const double e = t * t * ms.qq - 2 * t * ms.xq;
      if (e < best) {
        best = e;
        b.scale[static_cast<size_t>(sub)] = l;
      }
    }
  }
}

// Step 3: least-squares super-scale, tried with its fp16 neighbours against the current one on
// the block's error Σ w (x - d c q)² = Σ w x² - 2 d B + d² A (the exact error decides in
// refine_grid_block).
void best_super_scale(const GridFormat& f, const SubMoments& m, GridBlock& b) {
  double B = 0, A = 0;
  for (int sub = 0; sub < kValues / f.sub_size; ++sub) {
    const Moments& ms = m[static_cast<size_t>(sub)];
    const double c = (f.scale_offset + b.scale[static_cast<size_t>(sub)]) * f.scale_factor;
    B += c * ms.xq;
    A += c * c * ms.qq;
  }
  if (!(A > 0) || !(B > 0)) return;
  const auto error = [&](fp16_t d) {
    const double v = fp16_to_fp32(d);
    return v * v * A - 2 * v * B;
  };
  const fp16_t center = fp32_to_fp16(static_cast<float>(B / A));
  double best = error(b.d);
  for (int delta = -1; delta <= 1; ++delta) {
    const auto candidate = static_cast<fp16_t>(center + delta);
    if ((candidate & 0x7c00) == 0x7c00 || (candidate & 0x8000) != 0) continue;  // inf/NaN/neg
    const double e = error(candidate);
    if (e < best) {
      best = e;
      b.d = candidate;
    }
  }
}

// Σ w (x - v)² with v as the dequantizer computes it, so that the error is the one a reader sees.
double block_error(const GridFormat& f, const float* x, const float* w, const GridBlock& b,
                   const UnitValues& u) {
  double e = 0;
  for (int sub = 0; sub < kValues / f.sub_size; ++sub) {
    const float db = fp16_to_fp32(b.d) *
                     (f.scale_offset + static_cast<float>(b.scale[static_cast<size_t>(sub)])) *
                     f.scale_factor;
    for (int i = sub * f.sub_size; i < (sub + 1) * f.sub_size; ++i) {
      const float v = db * u[static_cast<size_t>(i)];
      const double diff = static_cast<double>(x[i]) - v;
      e += w[i] * diff * diff;
    }
  }
  return e;
}

}  // namespace

double grid_block_error(const GridFormat& f, const float* x, const float* w, const GridBlock& b) {
  return block_error(f, x, w, b, unit_values(f, b));
}

void refine_grid_block(const GridFormat& f, const float* x, const float* w, GridBlock& block,
                       ScanIsa isa) {
  double error = grid_block_error(f, x, w, block);
  // The sub-block scale each sign group was last searched at: step 1 depends only on it, so a
  // later round whose scale for the group is unchanged would choose the same points again.
  std::array<double, kValues / 8> searched_at;
  searched_at.fill(-1);
  for (int round = 0; round < f.rounds; ++round) {
    GridBlock trial = block;
    for (int g = 0; g < kValues / 8; ++g) {
      const double s = sub_scale(f, trial, 8 * g / f.sub_size);
      if (!(s > 0) || s == searched_at[static_cast<size_t>(g)]) continue;
      best_sign_group(f, x + 8 * g, w + 8 * g, s, g, trial, isa);
      searched_at[static_cast<size_t>(g)] = s;
    }
    const UnitValues u = unit_values(f, trial);
    const SubMoments m = sub_moments(f, x, w, u);
    best_scale_codes(f, m, trial);
    best_super_scale(f, m, trial);
    const double e = block_error(f, x, w, trial, u);
    if (!(e < error)) break;
    error = e;
    block = trial;
  }
}

}  // namespace qmix::iq2
