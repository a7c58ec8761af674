// The vectorised softmax and SwiGLU against double-precision formulas, over the range the
// forward pass feeds them (including exp's underflow and saturation ends and odd lengths).
#include "engine/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/cpu.h"

namespace qmix {
namespace {

TEST(Ops, Avx2SoftmaxMatchesDouble) {
  if (!cpu_features().use_avx2()) GTEST_SKIP() << "CPU without AVX2: kernel not tested";
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 30.0f);  // wide: many values underflow after -max
  for (int64_t n : {1, 7, 8, 9, 33, 512}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = nd(rng);
    const float scale = 0.0883883f;
    std::vector<double> want(x.size());
    double mx = -1e300, sum = 0;
    for (size_t i = 0; i < x.size(); ++i) mx = std::max(mx, static_cast<double>(x[i] * scale));
    for (size_t i = 0; i < x.size(); ++i) sum += want[i] = std::exp(x[i] * scale - mx);
    ops::softmax_avx2(x.data(), n, scale);
    for (size_t i = 0; i < x.size(); ++i)
      ASSERT_NEAR(x[i], want[i] / sum, 1e-6 * want[i] / sum + 1e-30) << n << " " << i;
  }
}

TEST(Ops, Avx2SwigluMatchesDouble) {
  if (!cpu_features().use_avx2()) GTEST_SKIP() << "CPU without AVX2: kernel not tested";
  std::vector<float> gate, up;
  for (float g = -120.0f; g <= 120.0f; g += 0.37f) {
    gate.push_back(g);
    up.push_back(1.5f - g / 100.0f);
  }
  std::vector<float> out(gate.size());
  ops::swiglu_avx2(gate.data(), up.data(), static_cast<int64_t>(gate.size()), out.data());
  for (size_t i = 0; i < gate.size(); ++i) {
    const double g = gate[i], want = g / (1.0 + std::exp(-g)) * up[i];
    ASSERT_NEAR(out[i], want, 1e-6 * std::fabs(want) + 1e-30) << "gate " << g;
  }
}

}  // namespace
}  // namespace qmix
