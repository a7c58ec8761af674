#include "engine/delta_net.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace qmix {
namespace {

// Random but realistic inputs: unit-norm q/k (q scaled by 1/sqrt(dk)), decays in (-2, 0),
// write strengths in (0, 1).
struct Inputs {
  int64_t n, dk, dv;
  std::vector<float> q, k, v, g, beta;
  Inputs(int64_t n_, int64_t dk_, int64_t dv_, uint32_t seed) : n(n_), dk(dk_), dv(dv_) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal;
    std::uniform_real_distribution<float> uni(0.0f, 1.0f);
    q.resize(static_cast<size_t>(n * dk));
    k.resize(q.size());
    v.resize(static_cast<size_t>(n * dv));
    for (auto* vec : {&q, &k}) {
      for (auto& x : *vec) x = normal(rng);
      for (int64_t t = 0; t < n; ++t) {
        float s = 0;
        for (int64_t i = 0; i < dk; ++i)
          s += (*vec)[static_cast<size_t>(t * dk + i)] * (*vec)[static_cast<size_t>(t * dk + i)];
        for (int64_t i = 0; i < dk; ++i) (*vec)[static_cast<size_t>(t * dk + i)] /= std::sqrt(s);
      }
    }
    for (auto& x : q) x /= std::sqrt(static_cast<float>(dk));
    for (auto& x : v) x = normal(rng);
    for (int64_t t = 0; t < n; ++t) {
      g.push_back(-2.0f * uni(rng));
      beta.push_back(uni(rng));
    }
  }
  DeltaNetHead head(float* out) const {
    return {q.data(), k.data(), v.data(), g.data(), beta.data(), out, dk, dv, 1, dv, dk, dv};
  }
};

TEST(DeltaNet, ChunkedEqualsRecurrentOver2kTokens) {
  const Inputs in(2048, 32, 48, 5);
  std::vector<float> out_r(static_cast<size_t>(in.n * in.dv)), out_c(out_r.size());
  std::vector<float> state_r(static_cast<size_t>(in.dk * in.dv)), state_c(state_r.size());
  gated_delta_rule_recurrent(in.head(out_r.data()), in.n, state_r.data());
  gated_delta_rule_chunked(in.head(out_c.data()), in.n, state_c.data(), 64);
  double max_out = 0, max_diff = 0;
  for (size_t i = 0; i < out_r.size(); ++i) {
    max_out = std::max(max_out, static_cast<double>(std::fabs(out_r[i])));
    max_diff = std::max(max_diff, static_cast<double>(std::fabs(out_r[i] - out_c[i])));
  }
  EXPECT_LT(max_diff, 1e-4 * max_out) << "max |Δ| " << max_diff << " of " << max_out;
  for (size_t i = 0; i < state_r.size(); ++i) EXPECT_NEAR(state_r[i], state_c[i], 1e-4);
}

TEST(DeltaNet, ChunkSizeDoesNotMatterAndStateCarriesOver) {
  const Inputs in(300, 16, 16, 9);
  std::vector<float> a(static_cast<size_t>(in.n * in.dv)), b(a.size());
  std::vector<float> sa(static_cast<size_t>(in.dk * in.dv)), sb(sa.size());
  gated_delta_rule_chunked(in.head(a.data()), in.n, sa.data(), 7);
  gated_delta_rule_chunked(in.head(b.data()), in.n, sb.data(), 128);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4);
}

}  // namespace
}  // namespace qmix
