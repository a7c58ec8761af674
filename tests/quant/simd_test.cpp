// Every type's AVX2 kernels against its scalar reference, table-driven over the type table:
// quantization and dequantization bit for bit, dots exactly for the integer formats (their
// block sums are exact and the float steps are the scalar ones) and within double-rounding of
// the sum for the float formats (whose scalar dot sums in double, in another order).
// Skipped, saying so, on CPUs without AVX2/FMA/F16C or with QMIX_FORCE_SCALAR=1.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "core/cpu.h"
#include "core/fp16.h"
#include "quant_test_helpers.h"

namespace qmix {
namespace {

#define QMIX_REQUIRE_AVX2()                                                                  \
  if (!cpu_features().use_avx2())                                                            \
  GTEST_SKIP() << "skipped: this CPU lacks AVX2/FMA/F16C (or QMIX_FORCE_SCALAR is set), so " \
                  "only the scalar kernels exist to run"

bool quantizable(const QuantType& t) {
  const QuantKernels& k = scalar_kernels(t);
  return k.quantize != nullptr && k.dequantize != nullptr;
}

int64_t row_length(const QuantType& t) {
  return t.block_size == 1 ? 4096 + 13 : 4096;  // float types also exercise the loop tails
}

// Gaussian weights with outliers (even seeds) or flat values (odd seeds), with exact zeros and
// q8 rounding ties.
std::vector<float> test_row(int64_t n, uint32_t seed) {
  std::vector<float> x = test::random_row(n, seed).x;
  if (seed % 2 == 1) {  // flat values use every level of the coarse formats (ternary, 2-bit)
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> flat(-1.f, 1.f);
    for (float& v : x) v = flat(rng);
  }
  for (int64_t i = 0; i < n; i += 61) x[static_cast<size_t>(i)] = 0.f;
  // A 32-block whose largest magnitude is 127 (scale 1): halves must round away from zero.
  if (n >= 64) {
    const float ties[8] = {127.f, 2.5f, -2.5f, 0.5f, -0.5f, 1.5f, -126.5f, 3.4999998f};
    for (int i = 0; i < 32; ++i) x[static_cast<size_t>(32 + i)] = ties[i % 8] * (i < 8 ? 1 : 0.5f);
  }
  return x;
}

std::vector<std::byte> quantize_with(QuantizeRowFn fn, const QuantType& t,
                                     const std::vector<float>& x) {
  const auto n = static_cast<int64_t>(x.size());
  std::vector<std::byte> out(*t.row_bytes(n));
  fn(x.data(), out.data(), n, nullptr);
  return out;
}

// Activations in the dot partner's format, made by the partner's scalar quantizer.
std::vector<std::byte> activations(const QuantType& t, int64_t n, uint32_t seed) {
  const std::vector<float> a = test_row(n, seed);
  const QuantType& partner = quant_type(t.dot_partner);
  if (partner.id == GgmlType::Q8_K) return test::to_q8k(a);
  return quantize_with(scalar_kernels(partner).quantize, partner, a);
}

bool same_bits(float a, float b) {
  return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b);
}

TEST(Simd, EveryTypeMatchesScalar) {
  QMIX_REQUIRE_AVX2();
  std::string without_avx2_dot;
  for (const QuantType& t : all_quant_types()) {
    if (!quantizable(t)) continue;
    SCOPED_TRACE(std::string(t.name));
    const QuantKernels& scalar = scalar_kernels(t);
    const QuantKernels& fast = active_kernels(t);
    const int64_t n = row_length(t);
    for (uint32_t seed = 1; seed <= 3; ++seed) {
      const std::vector<float> x = test_row(n, seed);
      const auto blocks = quantize_with(scalar.quantize, t, x);
      EXPECT_EQ(quantize_with(fast.quantize, t, x), blocks) << "quantization differs";
      std::vector<float> ref(static_cast<size_t>(n)), got(static_cast<size_t>(n));
      scalar.dequantize(blocks.data(), ref.data(), n);
      fast.dequantize(blocks.data(), got.data(), n);
      ASSERT_EQ(std::memcmp(ref.data(), got.data(), ref.size() * sizeof(float)), 0)
          << "dequantization differs";
      if (scalar.dot == nullptr) continue;
      const auto act = activations(t, n, seed + 10);
      const float ds = scalar.dot(blocks.data(), act.data(), n);
      const float da = fast.dot(blocks.data(), act.data(), n);
      if (t.dot_partner == GgmlType::F32) {
        double magnitude = 0;
        for (int64_t i = 0; i < n; ++i)
          magnitude += std::fabs(static_cast<double>(ref[static_cast<size_t>(i)]) *
                                 reinterpret_cast<const float*>(act.data())[i]);
        EXPECT_NEAR(da, ds, 1e-6 * magnitude + std::abs(ds) * 1e-7);
      } else {
        EXPECT_TRUE(same_bits(da, ds)) << "dot " << da << " vs scalar " << ds;
      }
    }
    if (scalar.dot != nullptr && fast.dot == scalar.dot)
      without_avx2_dot.append(" ").append(t.name);
  }
  if (!without_avx2_dot.empty()) {
    RecordProperty("scalar_only_dots", without_avx2_dot);
    std::cout << "[ NOTE     ] types whose dot has no AVX2 kernel yet:" << without_avx2_dot << "\n";
  }
}

// Arbitrary block bytes (any scale, any level, NaN/Inf scales included) decode identically,
// and give the same dots.
TEST(Simd, DequantizationOfArbitraryBytesMatchesScalar) {
  QMIX_REQUIRE_AVX2();
  std::mt19937 rng(5);
  for (const QuantType& t : all_quant_types()) {
    if (!quantizable(t)) continue;
    SCOPED_TRACE(std::string(t.name));
    const int64_t n = row_length(t);
    std::vector<std::byte> blocks(*t.row_bytes(n));
    for (auto& b : blocks) b = static_cast<std::byte>(rng());
    std::vector<float> ref(static_cast<size_t>(n)), got(static_cast<size_t>(n));
    scalar_kernels(t).dequantize(blocks.data(), ref.data(), n);
    active_kernels(t).dequantize(blocks.data(), got.data(), n);
    EXPECT_EQ(std::memcmp(ref.data(), got.data(), ref.size() * sizeof(float)), 0);
    // Integer-format dots too: every level and index pattern occurs in random bytes.
    if (scalar_kernels(t).dot == nullptr || t.dot_partner == GgmlType::F32) continue;
    const auto act = activations(t, n, 3);
    const float ds = scalar_kernels(t).dot(blocks.data(), act.data(), n);
    const float da = active_kernels(t).dot(blocks.data(), act.data(), n);
    EXPECT_TRUE(same_bits(da, ds) || (std::isnan(da) && std::isnan(ds))) << da << " vs " << ds;
  }
}

// The ternary formats round x / amax half away from zero (lround): exact ties, neighbours of
// ties, signed zeros, all-zero blocks, subnormal blocks (whose inverse scale overflows to
// infinity) and random blocks at scales from 1e-30 to 1e30 give the scalar kernels' bytes.
TEST(Simd, TernaryRoundingEdgesMatchScalar) {
  QMIX_REQUIRE_AVX2();
  constexpr int kBlock = 256;
  std::vector<float> x;
  const auto add_block = [&](float amax, const std::vector<float>& values) {
    x.push_back(amax);
    for (int i = 1; i < kBlock; ++i) x.push_back(values[static_cast<size_t>(i) % values.size()]);
  };
  const float below = std::nextafter(0.5f, 0.f), above = std::nextafter(0.5f, 1.f);
  add_block(1.f, {0.5f, -0.5f, below, -below, above, -above, 0.f, -0.f, 1.f, -1.f, 1e-45f});
  add_block(-3.f, {1.5f, -1.5f, std::nextafter(1.5f, 0.f), std::nextafter(-1.5f, 0.f),
                   std::nextafter(1.5f, 2.f), 3.f, -3.f, 0.f});  // 1 / 3 is inexact
  add_block(0.f, {0.f});
  add_block(-0.f, {-0.f, 0.f});
  add_block(1e-40f, {5e-41f, -5e-41f, 1e-45f, -1e-45f, 0.f, -0.f, 2e-41f});  // id = inf
  add_block(1.2e-38f, {6e-39f, -6e-39f, 1e-45f, 0.f});
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> unit(-1.f, 1.f), exponent(-30.f, 30.f);
  for (int b = 0; b < 64; ++b) {
    const float scale = std::pow(10.f, exponent(rng));
    std::vector<float> values(kBlock);
    for (float& v : values) v = unit(rng) * scale;
    for (int i = 0; i < kBlock; i += 7) values[static_cast<size_t>(i)] = scale * 0.5f;  // ties
    values[0] = b % 2 == 0 ? scale : -scale;
    x.insert(x.end(), values.begin(), values.end());
  }
  for (const GgmlType id : {GgmlType::TQ1_0, GgmlType::TQ2_0}) {
    const QuantType& t = quant_type(id);
    SCOPED_TRACE(std::string(t.name));
    ASSERT_NE(active_kernels(t).quantize, scalar_kernels(t).quantize);
    EXPECT_EQ(quantize_with(active_kernels(t).quantize, t, x),
              quantize_with(scalar_kernels(t).quantize, t, x));
  }
}

// Every half-precision value, and float inputs at the edges of half precision and bf16.
TEST(Simd, FloatConversionsAreExact) {
  QMIX_REQUIRE_AVX2();
  std::vector<uint16_t> halves(65536);
  for (int i = 0; i < 65536; ++i) halves[static_cast<size_t>(i)] = static_cast<uint16_t>(i);
  for (const GgmlType id : {GgmlType::F16, GgmlType::BF16}) {
    const QuantType& t = quant_type(id);
    SCOPED_TRACE(std::string(t.name));
    std::vector<float> ref(65536), got(65536);
    scalar_kernels(t).dequantize(halves.data(), ref.data(), 65536);
    active_kernels(t).dequantize(halves.data(), got.data(), 65536);
    EXPECT_EQ(std::memcmp(ref.data(), got.data(), ref.size() * sizeof(float)), 0);
    // Floats: every 16-bit high half with assorted low halves (ties, NaNs, infinities).
    std::vector<float> x;
    for (uint32_t hi = 0; hi < 65536; ++hi)
      for (const uint32_t lo : {0u, 0x1000u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu})
        x.push_back(std::bit_cast<float>(hi << 16 | lo));
    const auto n = static_cast<int64_t>(x.size());
    std::vector<uint16_t> a(x.size()), b(x.size());
    scalar_kernels(t).quantize(x.data(), a.data(), n, nullptr);
    active_kernels(t).quantize(x.data(), b.data(), n, nullptr);
    EXPECT_EQ(a, b);
  }
}

}  // namespace
}  // namespace qmix
