// The scale fits' AVX2 lane kernels (scale_fit_lanes.h) against the scalar loops: the same
// scale, min and levels, bit for bit, on random groups and on the awkward ones (zeros,
// constants, huge and tiny magnitudes, single outliers, negative-only values).
#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <random>
#include <vector>

#include "core/cpu.h"
#include "quant/block_layouts.h"
#include "quant/iq4_common.h"
#include "quant/scale_fit.h"

namespace qmix {
namespace {

using scale_fit::FitIsa;

// Groups of n values: mostly Gaussian with varying scale, and every tenth an edge case.
std::vector<std::vector<float>> groups(int n, uint32_t seed, int count) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss(0.f, 1.f);
  std::uniform_real_distribution<float> uniform(0.f, 1.f);
  std::vector<std::vector<float>> out;
  for (int g = 0; g < count; ++g) {
    std::vector<float> x(static_cast<size_t>(n));
    const float sigma = std::pow(10.f, -8.f + 12.f * uniform(rng));
    for (auto& v : x) v = sigma * gauss(rng);
    switch (g % 10) {
      case 1:
        std::fill(x.begin(), x.end(), 0.f);
        break;
      case 2:
        std::fill(x.begin(), x.end(), 0.5f);
        break;
      case 3:
        x[static_cast<size_t>(g) % x.size()] *= 1000.f;
        break;
      case 4:
        for (auto& v : x) v = -std::fabs(v);
        break;
      case 5:
        for (auto& v : x) v = std::fabs(v);
        break;
      case 6:
        for (size_t i = 0; i < x.size(); ++i) x[i] = i == 3 ? 1.f : 0.f;
        break;
      default:
        break;
    }
    out.push_back(std::move(x));
  }
  return out;
}

std::vector<float> weights(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::lognormal_distribution<float> importance(0.f, 1.f);
  std::vector<float> w(static_cast<size_t>(n));
  for (auto& v : w) v = importance(rng);
  return w;
}

uint32_t bits(float v) { return std::bit_cast<uint32_t>(v); }

class ScaleFitLanes : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cpu_features().use_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  }
};

TEST_F(ScaleFitLanes, AffineScanEqualsTheScalarLoop) {
  const scale_fit::AffineScan plain{-1.f, 0.1f, 20, scale_fit::ErrorNorm::kSquared,
                                    scale_fit::ScanRounding::kClampRounded};
  const scale_fit::AffineScan absolute{-0.5f, 0.1f, 15, scale_fit::ErrorNorm::kAbsolute,
                                       scale_fit::ScanRounding::kClampRounded};
  const scale_fit::AffineScan first_min{-0.75f,
                                        0.1f,
                                        15,
                                        scale_fit::ErrorNorm::kSquared,
                                        scale_fit::ScanRounding::kClampRounded,
                                        scale_fit::ScanMin::kFirst};
  for (const int n : {16, 32})
    for (const int nmax : {3, 15, 31})
      for (const auto& scan : {plain, absolute, first_min, scale_fit::kAffineScanImatrix})
        for (const auto& x : groups(n, static_cast<uint32_t>(n + nmax), 200)) {
          const auto w = weights(n, static_cast<uint32_t>(nmax));
          uint8_t ls[32], lv[32];
          float ms = 0, mv = 0;
          const float ds =
              scale_fit::fit_affine(x.data(), w.data(), n, nmax, scan, ls, &ms, FitIsa::kScalar);
          const float dv =
              scale_fit::fit_affine(x.data(), w.data(), n, nmax, scan, lv, &mv, FitIsa::kAvx2);
          ASSERT_EQ(bits(ds), bits(dv)) << n << " " << nmax;
          ASSERT_EQ(bits(ms), bits(mv));
          ASSERT_EQ(std::memcmp(ls, lv, static_cast<size_t>(n)), 0);
          if (!cpu_features().use_avx512()) continue;
          uint8_t lw[32];
          float mw = 0;
          const float dw =
              scale_fit::fit_affine(x.data(), w.data(), n, nmax, scan, lw, &mw, FitIsa::kAvx512);
          ASSERT_EQ(bits(ds), bits(dw)) << n << " " << nmax;
          ASSERT_EQ(bits(ms), bits(mw));
          ASSERT_EQ(std::memcmp(ls, lw, static_cast<size_t>(n)), 0);
        }
}

TEST_F(ScaleFitLanes, SymmetricScanEqualsTheScalarLoop) {
  for (const int nmax : {4, 8, 32})
    for (const auto& x : groups(16, static_cast<uint32_t>(nmax), 400)) {
      const auto w = weights(16, static_cast<uint32_t>(nmax + 1));
      uint8_t ls[16], lv[16];
      const float ds = scale_fit::fit_symmetric(x.data(), w.data(), 16, nmax, ls, FitIsa::kScalar);
      const float dv = scale_fit::fit_symmetric(x.data(), w.data(), 16, nmax, lv, FitIsa::kAvx2);
      ASSERT_EQ(bits(ds), bits(dv)) << nmax;
      ASSERT_EQ(std::memcmp(ls, lv, sizeof ls), 0);
    }
}

TEST_F(ScaleFitLanes, SymmetricMovesEqualTheScalarLoop) {
  constexpr int kGroups = 48;  // one pass of 32 groups, one of 16
  for (const int n : {16, 32})
    for (const int nmax : {4, 8}) {
      const auto all = groups(n, static_cast<uint32_t>(n * nmax), 480);
      for (size_t first = 0; first + kGroups <= all.size(); first += kGroups) {
        std::vector<float> x;
        for (size_t g = first; g < first + kGroups; ++g)
          x.insert(x.end(), all[g].begin(), all[g].end());
        float ss[kGroups], sv[kGroups];
        std::vector<uint8_t> ls(x.size()), lv(x.size());
        scale_fit::fit_symmetric_moves_groups(x.data(), kGroups, n, nmax, ss, ls.data(),
                                              FitIsa::kScalar);
        scale_fit::fit_symmetric_moves_groups(x.data(), kGroups, n, nmax, sv, lv.data(),
                                              FitIsa::kAvx2);
        for (int g = 0; g < kGroups; ++g) ASSERT_EQ(bits(ss[g]), bits(sv[g])) << n << " " << nmax;
        ASSERT_EQ(ls, lv);
      }
    }
}

TEST_F(ScaleFitLanes, CodebookFitEqualsTheScalarLoop) {
  for (const auto& x : groups(32, 7, 1000)) {
    const auto w = weights(32, 8);
    const float ds = iq4::fit_block(x.data(), w.data(), FitIsa::kScalar);
    const float dv = iq4::fit_block(x.data(), w.data(), FitIsa::kAvx2);
    ASSERT_EQ(bits(ds), bits(dv));
  }
}

}  // namespace
}  // namespace qmix
