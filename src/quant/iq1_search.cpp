#include "quant/iq1_search.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <numeric>

namespace qmix::iq2 {

void sort_indices(const float* x, int n, int* order) {
  std::iota(order, order + n, 0);
  std::stable_sort(order, order + n, [x](int a, int b) { return x[a] < x[b]; });
}

float max_abs(const float* x, int n) {
  float max = std::fabs(x[0]);
  for (int i = 1; i < n; ++i) max = max > std::fabs(x[i]) ? max : std::fabs(x[i]);
  return max;
}

int place_iq1_group(const Lattice& lattice, const float* x, const float* weight, float scale,
                    const std::array<float, 3>& xg, int8_t* L, bool* on_grid) {
  const uint16_t code = code_of(L);
  const int index = lattice.index_of(code);
  *on_grid = index >= 0;
  if (index >= 0) return index;
  // ggml's iq1_find_best_neighbour2: smallest weighted squared error, first one on ties.
  const std::span<const uint16_t> candidates = lattice.neighbours(code);
  float best_score = FLT_MAX;
  int best = candidates.front();  // kept only if every error is NaN
  for (const uint16_t candidate : candidates) {
    const Lattice::Levels& levels = lattice.levels(candidate);
    float d2 = 0;
    for (int i = 0; i < 8; ++i) {
      const float q = xg[static_cast<size_t>(levels[static_cast<size_t>(i)])];
      const float w = weight[i];
      const float diff = scale * q - x[i];
      d2 += w * diff * diff;
    }
    if (d2 < best_score) {
      best_score = d2;
      best = candidate;
    }
  }
  std::memcpy(L, lattice.levels(best).data(), 8);
  return best;
}

}  // namespace qmix::iq2
