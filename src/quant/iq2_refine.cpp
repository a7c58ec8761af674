#include "quant/iq2_refine.h"

#include <bit>
#include <cmath>
#include <limits>

#include "quant/iq2_grids.h"

namespace qmix::iq2 {
namespace {

constexpr int kValues = 256;
constexpr int kRounds = 3;

double group_scale(const Iq2Block& b, int sub) {
  return static_cast<double>(fp16_to_fp32(b.d)) * (0.5 + b.scale[static_cast<size_t>(sub)]) * 0.25;
}

// Best grid point and signs for one group at scale s (step 1). Only the magnitude levels
// matter per element, so each candidate costs 8 table lookups.
void best_group(const Iq2Format& f, const float* x, const float* w, double s, uint16_t* index,
                uint8_t* signs) {
  static constexpr int kMagnitudes[3] = {0x08, 0x19, 0x2b};
  double cost[8][3], flip[8][3];
  uint8_t natural = 0;  // sign bits of x
  for (int j = 0; j < 8; ++j) {
    const double a = std::fabs(static_cast<double>(x[j])), wj = w[j];
    if (x[j] < 0) natural = static_cast<uint8_t>(natural | (1 << j));
    for (int l = 0; l < 3; ++l) {
      const double q = s * kMagnitudes[l];
      cost[j][l] = wj * (q * q - 2 * a * q);
      flip[j][l] = 4 * wj * a * q;  // extra cost of giving element j the wrong sign
    }
  }
  const bool odd = f.even_parity && std::popcount(natural) % 2 != 0;
  const Lattice& lattice = iq2::lattice(f.book);
  double best = std::numeric_limits<double>::infinity();
  for (int k = 0; k < lattice.size(); ++k) {
    const Lattice::Levels& levels = lattice.levels(k);
    double c = 0, penalty = std::numeric_limits<double>::infinity();
    int cheapest = 0;
    for (int j = 0; j < 8; ++j) {
      const int l = levels[static_cast<size_t>(j)];
      c += cost[j][l];
      if (odd && flip[j][l] < penalty) {
        penalty = flip[j][l];
        cheapest = j;
      }
    }
    if (odd) c += penalty;
    if (c < best) {
      best = c;
      *index = static_cast<uint16_t>(k);
      *signs = odd ? static_cast<uint8_t>(natural ^ (1 << cheapest)) : natural;
    }
  }
}

// Σ w x q and Σ w q² of a sub-block's decoded values at unit scale (q = grid * sign).
struct Moments {
  double xq = 0, qq = 0;
};

Moments sub_moments(const Iq2Format& f, const float* x, const float* w, const Iq2Block& b,
                    int sub) {
  Moments m;
  for (int k = sub * f.sub_size / 8; k < (sub + 1) * f.sub_size / 8; ++k) {
    const uint64_t g = f.grid[b.index[static_cast<size_t>(k)]];
    for (int j = 0; j < 8; ++j) {
      const int i = 8 * k + j;
      const double q = grid_byte(g, j) * (b.signs[static_cast<size_t>(k)] >> j & 1 ? -1.0 : 1.0);
      m.xq += w[i] * x[i] * q;
      m.qq += w[i] * q * q;
    }
  }
  return m;
}

// Step 2: the scale code minimizing Σ w (x - t q)² with t = d (0.5 + l) / 4.
void best_scale_codes(const Iq2Format& f, const float* x, const float* w, Iq2Block& b) {
  const double d = fp16_to_fp32(b.d);
  for (int sub = 0; sub < kValues / f.sub_size; ++sub) {
    const Moments m = sub_moments(f, x, w, b, sub);
    double best = std::numeric_limits<double>::infinity();
    for (int l = 0; l < 16; ++l) {
      const double t = d * (0.5 + l) * 0.25;
      const double e = t * t * m.qq - 2 * t * m.xq;
      if (e < best) {
        best = e;
        b.scale[static_cast<size_t>(sub)] = l;
      }
    }
  }
}

// Step 3: least-squares super-scale, tried with its fp16 neighbours.
void best_super_scale(const Iq2Format& f, const float* x, const float* w, Iq2Block& b) {
  double num = 0, den = 0;
  for (int sub = 0; sub < kValues / f.sub_size; ++sub) {
    const Moments m = sub_moments(f, x, w, b, sub);
    const double c = (0.5 + b.scale[static_cast<size_t>(sub)]) * 0.25;
    num += c * m.xq;
    den += c * c * m.qq;
  }
  if (!(den > 0) || !(num > 0)) return;
  const fp16_t center = fp32_to_fp16(static_cast<float>(num / den));
  double best = iq2_block_error(f, x, w, b);
  const fp16_t current = b.d;
  fp16_t chosen = current;
  for (int delta = -1; delta <= 1; ++delta) {
    const auto candidate = static_cast<fp16_t>(center + delta);
    if ((candidate & 0x7c00) == 0x7c00 || (candidate & 0x8000) != 0) continue;  // inf/NaN/neg
    b.d = candidate;
    const double e = iq2_block_error(f, x, w, b);
    if (e < best) {
      best = e;
      chosen = candidate;
    }
  }
  b.d = chosen;
}

}  // namespace

double iq2_block_error(const Iq2Format& f, const float* x, const float* w, const Iq2Block& b) {
  double e = 0;
  for (int sub = 0; sub < kValues / f.sub_size; ++sub) {
    const float db =
        fp16_to_fp32(b.d) * (0.5f + static_cast<float>(b.scale[static_cast<size_t>(sub)])) * 0.25f;
    for (int i = sub * f.sub_size; i < (sub + 1) * f.sub_size; ++i) {
      const int k = i / 8, j = i % 8;
      const float sign = b.signs[static_cast<size_t>(k)] >> j & 1 ? -1.f : 1.f;
      const float v =
          db * static_cast<float>(grid_byte(f.grid[b.index[static_cast<size_t>(k)]], j)) * sign;
      const double diff = static_cast<double>(x[i]) - v;
      e += w[i] * diff * diff;
    }
  }
  return e;
}

void refine_iq2(const Iq2Format& f, const float* x, const float* w, Iq2Block& block) {
  double error = iq2_block_error(f, x, w, block);
  for (int round = 0; round < kRounds; ++round) {
    Iq2Block trial = block;
    for (int k = 0; k < kValues / 8; ++k) {
      const double s = group_scale(trial, 8 * k / f.sub_size);
      if (s > 0)
        best_group(f, x + 8 * k, w + 8 * k, s, &trial.index[static_cast<size_t>(k)],
                   &trial.signs[static_cast<size_t>(k)]);
    }
    best_scale_codes(f, x, w, trial);
    best_super_scale(f, x, w, trial);
    const double e = iq2_block_error(f, x, w, trial);
    if (!(e < error)) break;
    error = e;
    block = trial;
  }
}

}  // namespace qmix::iq2
