#include "quant/iq2_search.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "quant/iq2_scan.h"

namespace qmix::iq2 {
namespace {

constexpr int kMaxGroups = 8;  // groups of 4 in a 32-value IQ3 sub-block

// ggml's iq2_find_best_neighbour / iq3_find_best_neighbour: the candidate with the smallest
// weighted distance at `scale` (the first one on ties). Writes its levels to L.
void place_on_best_neighbour(const Lattice& lattice, uint16_t code, const float* xval,
                             const float* waux, float scale, int8_t* L) {
  const std::span<const uint16_t> candidates = lattice.neighbours(code);
  const int size = lattice.group_size();
  float best_d2 = FLT_MAX;
  int best = candidates.front();  // kept only if every distance is NaN
  for (const uint16_t index : candidates) {
    const Lattice::Levels& levels = lattice.levels(index);
    float d2 = 0;
    for (int i = 0; i < size; ++i) {
      const float q = static_cast<float>(2 * levels[static_cast<size_t>(i)] + 1);
      const float diff = scale * q - xval[i];
      d2 += waux[i] * diff * diff;
    }
    if (d2 < best_d2) {
      best_d2 = d2;
      best = index;
    }
  }
  std::memcpy(L, lattice.levels(best).data(), static_cast<size_t>(size));
}

// Moves a group's rounded levels L to its best neighbour if they are not a grid point (ggml's
// choice on every isa). Returns whether they were one.
bool settle_group(const Lattice& lattice, float scale, const float* xval, const float* waux,
                  int8_t* L, ScanIsa isa) {
  const uint16_t code = lattice.code_of(L);
  if (lattice.index_of(code) >= 0) return true;
  // The scalar path stays ggml's loop: it is what the reference's speed is measured by.
  if (isa == ScanIsa::kScalar) {
    place_on_best_neighbour(lattice, code, xval, waux, scale, L);
    return false;
  }
  const std::span<const uint16_t> codes = lattice.neighbour_codes(code);
  const int at = isa == ScanIsa::kAvx512
                     ? nearest_candidate_avx512(lattice.shape(), xval, waux, scale, codes)
                     : nearest_candidate_avx2(lattice.shape(), xval, waux, scale, codes);
  const int best = lattice.neighbours(code)[static_cast<size_t>(at)];
  std::memcpy(L, lattice.levels(best).data(), static_cast<size_t>(lattice.group_size()));
  return false;
}

// Levels of one group at inverse scale id (ggml's rounding), settled on the grid.
bool place_group(const Lattice& lattice, float id, float scale, const float* xval,
                 const float* waux, int8_t* L, ScanIsa isa) {
  for (int i = 0; i < lattice.group_size(); ++i) {
    const int l = nearest_int(0.5f * (id * xval[i] - 1));
    L[i] = static_cast<int8_t>(std::max(0, std::min(lattice.max_level(), l)));
  }
  return settle_group(lattice, scale, xval, waux, L, isa);
}

// Every group of a sub-block at inverse scale id; on lanes the rounding is one pass over the
// sub-block. Writes whether each group was on the grid.
void place_groups(const Lattice& lattice, int n, float id, float scale, const float* xval,
                  const float* waux, int8_t* L, bool* on_grid, ScanIsa isa) {
  const int size = lattice.group_size();
  if (isa == ScanIsa::kScalar) {
    for (int k = 0; k < n / size; ++k)
      on_grid[k] =
          place_group(lattice, id, scale, xval + size * k, waux + size * k, L + size * k, isa);
    return;
  }
  round_levels(xval, n, id, lattice.max_level(), L, isa);
  for (int k = 0; k < n / size; ++k)
    on_grid[k] = settle_group(lattice, scale, xval + size * k, waux + size * k, L + size * k, isa);
}

struct Sums {
  float qx = 0, q2 = 0;
};

Sums weighted_sums(int n, const float* weight, const float* xval, const int8_t* L) {
  Sums s;
  for (int i = 0; i < n; ++i) {
    const float w = weight[i];
    const float q = static_cast<float>(2 * L[i] + 1);
    s.qx += w * xval[i] * q;
    s.q2 += w * q * q;
  }
  return s;
}

}  // namespace

int nearest_int(float f) {
  // Adding 1.5 * 2^23 leaves the rounded integer in the low mantissa bits.
  const float shifted = f + 12582912.f;
  return (std::bit_cast<int32_t>(shifted) & 0x007fffff) - 0x00400000;
}

float make_qp_quants(int n, int nmax, const float* x, uint8_t* L, const float* weight) {
  float max = 0;
  for (int i = 0; i < n; ++i) max = max > x[i] ? max : x[i];
  if (max < 1e-15f) {
    std::memset(L, 0, static_cast<size_t>(n));
    return 0.f;
  }
  float iscale = static_cast<float>(nmax) / max;
  for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(nearest_int(iscale * x[i]));
  const float scale = 1 / iscale;
  float best_mse = 0;
  for (int i = 0; i < n; ++i) {
    const float diff = x[i] - scale * L[i];
    best_mse += weight[i] * diff * diff;
  }
  for (int is = -4; is <= 4; ++is) {
    if (is == 0) continue;
    const float iscale_is = (0.1f * static_cast<float>(is) + static_cast<float>(nmax)) / max;
    const float scale_is = 1 / iscale_is;
    float mse = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::min(nmax, nearest_int(iscale_is * x[i]));
      const float diff = x[i] - scale_is * static_cast<float>(l);
      mse += weight[i] * diff * diff;
    }
    if (mse < best_mse) {
      best_mse = mse;
      iscale = iscale_is;
    }
  }
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::min(nmax, nearest_int(iscale * x[i]));
    L[i] = static_cast<uint8_t>(l);
    const float w = weight[i];
    sumlx += w * x[i] * static_cast<float>(l);
    suml2 += w * static_cast<float>(l) * static_cast<float>(l);
  }
  // Coordinate descent on single levels (ggml's five passes).
  for (int pass = 0; pass < 5; ++pass) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = weight[i];
      float slx = sumlx - w * x[i] * L[i];
      float sl2 = suml2 - w * L[i] * L[i];
      if (!(slx > 0 && sl2 > 0)) continue;
      const int new_l = std::min(nmax, nearest_int(x[i] * sl2 / slx));
      if (new_l == L[i]) continue;
      slx += w * x[i] * static_cast<float>(new_l);
      sl2 += w * static_cast<float>(new_l) * static_cast<float>(new_l);
      if (slx * slx * suml2 > sumlx * sumlx * sl2) {
        L[i] = static_cast<uint8_t>(new_l);
        sumlx = slx;
        suml2 = sl2;
        ++changed;
      }
    }
    if (changed == 0) break;
  }
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

void fold_signs(const float* x, const float* weight, int n, SignBits bits, float* xval,
                uint8_t* signs) {
  for (int k = 0; k < n / 8; ++k) {
    const float* xg = x + 8 * k;
    float* vg = xval + 8 * k;
    int negatives = 0;
    uint8_t s = 0;
    for (int i = 0; i < 8; ++i) {
      if (xg[i] >= 0) {
        vg[i] = xg[i];
      } else {
        vg[i] = -xg[i];
        ++negatives;
        s = static_cast<uint8_t>(s | (1 << i));
      }
    }
    if (bits == SignBits::kSevenWithParity && negatives % 2 != 0) {
      const float* wg = weight + 8 * k;
      int imin = 0;
      float min = wg[0] * xg[0] * xg[0];
      for (int i = 1; i < 8; ++i) {
        const float ax = wg[i] * xg[i] * xg[i];
        if (ax < min) {
          min = ax;
          imin = i;
        }
      }
      vg[imin] = -vg[imin];
      s = static_cast<uint8_t>(s ^ (1 << imin));
    }
    signs[k] = bits == SignBits::kSevenWithParity ? static_cast<uint8_t>(s & 127) : s;
  }
}

float sum_squares(const float* x, int n) {
  float sum = 0;
  for (int i = 0; i < n; ++i) sum += x[i] * x[i];
  return sum;
}

void imatrix_weights(const float* x, const float* qw, float sigma2, int n, float* weight) {
  for (int i = 0; i < n; ++i) weight[i] = qw[i] * std::sqrt(sigma2 + x[i] * x[i]);
}

float max_of(const float* v, int n) {
  float max = v[0];
  for (int i = 1; i < n; ++i) max = max > v[i] ? max : v[i];
  return max;
}

float search_scale(const Lattice& lattice, const ScaleSearch& search, const float* xval,
                   const float* weight, const float* waux, int8_t* L, ScanIsa isa) {
  const int size = lattice.group_size();
  const int groups = search.n / size;
  std::memset(L, 0, static_cast<size_t>(search.n));
  std::array<bool, kMaxGroups> on_grid{};
  on_grid.fill(search.refit != Refit::kAllGroupsIfAnyOffGrid);
  std::array<bool, kMaxGroups> trial_on_grid{};
  std::array<int8_t, 32> trial{};
  float scale = search.initial_scale;
  float best = 0;
  for (int is = -search.steps; is <= search.steps; ++is) {
    const float id = (search.center + static_cast<float>(is) * search.step) / search.reference;
    const float this_scale = 1 / id;
    place_groups(lattice, search.n, id, this_scale, xval, waux, trial.data(), trial_on_grid.data(),
                 isa);
    const Sums s = weighted_sums(search.n, weight, xval, trial.data());
    if (s.q2 > 0 && s.qx * s.qx > best * s.q2) {
      scale = s.qx / s.q2;
      best = scale * s.qx;
      std::memcpy(L, trial.data(), static_cast<size_t>(search.n));
      on_grid = trial_on_grid;
    }
  }
  const bool any_off_grid =
      std::find(on_grid.begin(), on_grid.begin() + groups, false) != on_grid.begin() + groups;
  const bool all_groups = search.refit != Refit::kOffGridGroups;
  const bool refit = search.refit == Refit::kAllGroups || any_off_grid;
  if (scale > 0 && refit) {
    const float id = 1 / scale;
    if (all_groups) {
      place_groups(lattice, search.n, id, scale, xval, waux, L, trial_on_grid.data(), isa);
    } else {
      for (int k = 0; k < groups; ++k)
        if (!on_grid[static_cast<size_t>(k)])
          place_group(lattice, id, scale, xval + size * k, waux + size * k, L + size * k, isa);
    }
    const Sums s = weighted_sums(search.n, weight, xval, L);
    if (s.q2 > 0) scale = s.qx / s.q2;
  }
  return scale;
}

int scale_code(float scale, float inverse_d, int max) {
  const int l = nearest_int(0.5f * (inverse_d * scale - 1));
  return std::max(0, std::min(max, l));
}

}  // namespace qmix::iq2
