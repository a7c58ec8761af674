// q2_K … q6_K and q8_K: byte-exact reproduction of ggml's reference quantizer on the golden
// vectors, dot products against dequantized values, SIMD vs scalar kernels, round trips and
// the use of the imatrix.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "core/cpu.h"
#include "quant/block_layouts.h"
#include "quant/k_quants_measure.h"
#include "quant/k_quants_search.h"
#include "quant/quantize_rows.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

namespace fs = std::filesystem;

constexpr GgmlType kWeightTypes[] = {GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K,
                                     GgmlType::Q6_K};

struct Row {
  std::vector<float> x, imatrix;
};

// Gaussian weights with an outlier every 97 values; log-normal importances.
Row random_row(int64_t n, uint32_t seed, float sigma = 0.02f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss(0.f, sigma);
  std::lognormal_distribution<float> importance(0.f, 1.f);
  Row r;
  for (int64_t i = 0; i < n; ++i) {
    r.x.push_back(gauss(rng) * (i % 97 == 0 ? 20.f : 1.f));
    r.imatrix.push_back(importance(rng));
  }
  return r;
}

std::vector<std::byte> quantize(const QuantType& type, std::span<const float> x,
                                std::span<const float> imatrix,
                                QuantAlgorithm algorithm = QuantAlgorithm::kBest) {
  const auto n = static_cast<int64_t>(x.size());
  std::vector<std::byte> out(*type.row_bytes(n));
  QuantizeOptions options;
  options.algorithm = algorithm;
  const Status s = quantize_rows(type, x, 1, n, imatrix, out, options);
  EXPECT_TRUE(s.ok()) << s.error().message;
  return out;
}

std::vector<float> dequantize(const QuantType& type, const std::vector<std::byte>& q, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  scalar_kernels(type).dequantize(q.data(), out.data(), n);
  return out;
}

std::vector<std::byte> to_q8k(const std::vector<float>& x) {
  return quantize(quant_type(GgmlType::Q8_K), x, {});
}

double weighted_sse(const std::vector<float>& x, const std::vector<float>& y,
                    const std::vector<float>* w) {
  double e = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = static_cast<double>(x[i]) - y[i];
    e += (w != nullptr ? (*w)[i] : 1.0) * d * d;
  }
  return e;
}

// ---------------------------------------------------------------- ggml's bytes

// quantize_reference reproduces every golden k-quant case byte for byte.
void check_reference_bytes(const fs::path& dir, int& checked) {
  const auto manifest = nlohmann::json::parse(test::read_text(dir / "manifest.json"));
  for (const auto& c : manifest["cases"]) {
    const auto type = quant_type_by_name(c["type"].get<std::string>());
    ASSERT_TRUE(type.ok());
    if (std::find(std::begin(kWeightTypes), std::end(kWeightTypes), (*type)->id) ==
        std::end(kWeightTypes))
      continue;
    if (!fs::exists(dir / c["quantized"].get<std::string>())) continue;
    const std::string set = c["set"];
    const bool with_imatrix = c["imatrix"];
    SCOPED_TRACE(set + "." + std::string((*type)->name) + (with_imatrix ? ".imat" : ".plain"));
    const auto sets = manifest["sets"];
    const auto s =
        *std::find_if(sets.begin(), sets.end(), [&](auto& e) { return e["name"] == set; });
    const int64_t rows = s["rows"], cols = s["cols"];
    const auto input = test::read_f32(dir / s["input"].get<std::string>());
    const auto imatrix = test::read_f32(dir / s["imatrix"].get<std::string>());
    const auto golden = test::read_bytes(dir / c["quantized"].get<std::string>());
    std::vector<std::byte> ours(golden.size());
    QuantizeOptions options;
    options.algorithm = QuantAlgorithm::kReference;
    const std::span<const float> im =
        with_imatrix ? std::span<const float>(imatrix) : std::span<const float>();
    ASSERT_TRUE(quantize_rows(**type, input, rows, cols, im, ours, options).ok());
    const int64_t row_bytes = static_cast<int64_t>(*(*type)->row_bytes(cols));
    for (int64_t r = 0; r < rows; ++r)
      EXPECT_EQ(std::memcmp(ours.data() + r * row_bytes, golden.data() + r * row_bytes,
                            static_cast<size_t>(row_bytes)),
                0)
          << "row " << r;
    ++checked;
  }
}

TEST(KQuants, ReferenceReproducesGgmlOnEdgeSet) {
  const fs::path dir = test::testdata_dir() / "golden" / "quant";
  if (!fs::exists(dir / "manifest.json")) GTEST_SKIP() << "testdata/golden/quant not present";
  int checked = 0;
  check_reference_bytes(dir, checked);
  EXPECT_EQ(checked, 10);  // 5 types, plain and imatrix
}

TEST(KQuantsShared, ReferenceReproducesGgmlOnAllSets) {
  QMIX_REQUIRE_SHARED(shared);
  int checked = 0;
  check_reference_bytes(shared / "golden" / "quant", checked);
  EXPECT_EQ(checked, 30);
}

// ---------------------------------------------------------------- kernels

std::vector<float> q8k_values(const std::vector<std::byte>& q8k, size_t n) {
  std::vector<float> out(n);
  dequantize(quant_type(GgmlType::Q8_K), q8k, static_cast<int64_t>(n)).swap(out);
  return out;
}

TEST(KQuants, DotEqualsSumOfDequantizedProducts) {
  constexpr int64_t n = 2048;
  for (const GgmlType id : kWeightTypes) {
    const QuantType& type = quant_type(id);
    SCOPED_TRACE(std::string(type.name));
    for (uint32_t seed = 1; seed <= 3; ++seed) {
      const Row w = random_row(n, seed);
      const Row a = random_row(n, seed + 100, 1.f);
      const auto blocks = quantize(type, w.x, {});
      const auto q8 = to_q8k(a.x);
      const auto wv = dequantize(type, blocks, n);
      const auto av = q8k_values(q8, n);
      double expected = 0, magnitude = 0;
      for (int64_t i = 0; i < n; ++i) {
        expected += static_cast<double>(wv[i]) * av[i];
        magnitude += std::fabs(static_cast<double>(wv[i]) * av[i]);
      }
      for (const QuantKernels* k : {&scalar_kernels(type), &active_kernels(type)})
        EXPECT_NEAR(k->dot(blocks.data(), q8.data(), n), expected, 1e-5 * magnitude);
    }
  }
}

TEST(KQuants, Q8KDotOfItselfIsItsSquaredNorm) {
  const Row a = random_row(1024, 5, 1.f);
  const auto q8 = to_q8k(a.x);
  const auto av = q8k_values(q8, a.x.size());
  double expected = 0;
  for (const float v : av) expected += static_cast<double>(v) * v;
  const QuantType& q8k = quant_type(GgmlType::Q8_K);
  EXPECT_NEAR(scalar_kernels(q8k).dot(q8.data(), q8.data(), 1024), expected, 1e-6 * expected);
  EXPECT_NEAR(active_kernels(q8k).dot(q8.data(), q8.data(), 1024), expected, 1e-6 * expected);
}

// ggml's q8_K: the largest magnitude maps to -127, bsums are the sums of 16 values.
TEST(KQuants, Q8KFollowsGgmlsRounding) {
  std::vector<float> x(256);
  for (int i = 0; i < 256; ++i) x[static_cast<size_t>(i)] = static_cast<float>(i - 100) / 64.f;
  const auto q8 = to_q8k(x);
  layout::BlockQ8K b;
  std::memcpy(&b, q8.data(), sizeof b);
  EXPECT_EQ(b.qs[255], -127);                     // x = 155/64, the largest magnitude
  EXPECT_FLOAT_EQ(b.d, -(155.f / 64.f) / 127.f);  // negative: the sign flips
  EXPECT_EQ(b.qs[100], 0);
  for (int j = 0; j < 16; ++j) {
    int sum = 0;
    for (int i = 0; i < 16; ++i) sum += b.qs[16 * j + i];
    EXPECT_EQ(b.bsums[j], sum);
  }
  std::vector<float> zero(256, 0.f);
  const auto qz = to_q8k(zero);
  std::memcpy(&b, qz.data(), sizeof b);
  EXPECT_EQ(b.d, 0.f);
  EXPECT_TRUE(
      std::all_of(std::begin(b.bsums), std::end(b.bsums), [](int16_t v) { return v == 0; }));
}

TEST(KQuants, SimdKernelsMatchScalar) {
  constexpr int64_t n = 4096;
  for (const GgmlType id : kWeightTypes) {
    const QuantType& type = quant_type(id);
    SCOPED_TRACE(std::string(type.name));
    const QuantKernels& scalar = scalar_kernels(type);
    const QuantKernels& active = active_kernels(type);
    if (cpu_features().use_avx2()) {
      EXPECT_NE(active.dot, scalar.dot) << "no AVX2 dot";
      EXPECT_NE(active.dequantize, scalar.dequantize) << "no AVX2 dequantize";
    }
    for (uint32_t seed = 7; seed < 10; ++seed) {
      const Row w = random_row(n, seed);
      const Row a = random_row(n, seed + 50, 1.f);
      const auto blocks = quantize(type, w.x, w.imatrix);
      const auto q8 = to_q8k(a.x);
      std::vector<float> ref(n), got(n);
      scalar.dequantize(blocks.data(), ref.data(), n);
      active.dequantize(blocks.data(), got.data(), n);
      EXPECT_EQ(std::memcmp(ref.data(), got.data(), n * sizeof(float)), 0);
      // Both sum exact integers per block and combine blocks in the same order.
      const float ds = scalar.dot(blocks.data(), q8.data(), n);
      const float da = active.dot(blocks.data(), q8.data(), n);
      double magnitude = 0;
      const auto av = q8k_values(q8, n);
      for (int64_t i = 0; i < n; ++i) magnitude += std::fabs(ref[i] * av[i]);
      EXPECT_NEAR(da, ds, 1e-6 * magnitude);
      EXPECT_EQ(da, ds);  // by construction: same integers, same float steps, same order
    }
  }
}

// The activation quantizer runs for every matmul input: its AVX2 version must give the
// scalar bytes, ties (values at exactly half a step) included.
TEST(KQuants, Q8KSimdQuantizationMatchesScalar) {
  const QuantType& q8k = quant_type(GgmlType::Q8_K);
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    Row a = random_row(1024, seed, 1.f);
    // Block 0: scale exactly 1 (largest magnitude 127), the others at half-integers: ties.
    for (size_t i = 0; i < 256; ++i) a.x[i] = static_cast<float>(static_cast<int>(i) - 128) * 0.5f;
    a.x[0] = -127.f;
    a.x[300] = 50.f;
    a.x[301] = -50.f;  // equal magnitudes of both signs: the first one decides
    std::vector<std::byte> ref(*q8k.row_bytes(1024)), got(ref.size());
    scalar_kernels(q8k).quantize(a.x.data(), ref.data(), 1024, nullptr);
    active_kernels(q8k).quantize(a.x.data(), got.data(), 1024, nullptr);
    EXPECT_EQ(std::memcmp(ref.data(), got.data(), ref.size()), 0);
    std::vector<float> back_ref(1024), back_got(1024);
    scalar_kernels(q8k).dequantize(ref.data(), back_ref.data(), 1024);
    active_kernels(q8k).dequantize(ref.data(), back_got.data(), 1024);
    EXPECT_EQ(std::memcmp(back_ref.data(), back_got.data(), 1024 * sizeof(float)), 0);
    EXPECT_EQ(scalar_kernels(q8k).dot(ref.data(), ref.data(), 1024),
              active_kernels(q8k).dot(ref.data(), ref.data(), 1024));
  }
}

// ---------------------------------------------------------------- quantization

// Values that a format represents exactly come back (almost) unchanged: re-quantizing a
// dequantized row loses far less than the first quantization did.
TEST(KQuants, RoundTripIsNearlyStable) {
  constexpr int64_t n = 1024;
  for (const GgmlType id : kWeightTypes) {
    const QuantType& type = quant_type(id);
    SCOPED_TRACE(std::string(type.name));
    const Row w = random_row(n, 31);
    const auto first = dequantize(type, quantize(type, w.x, {}), n);
    const auto second = dequantize(type, quantize(type, first, {}), n);
    const double e1 = weighted_sse(w.x, first, nullptr);
    const double e2 = weighted_sse(first, second, nullptr);
    EXPECT_LT(e2, 0.25 * e1);
  }
}

TEST(KQuants, ZeroRowsQuantizeToZero) {
  const std::vector<float> zero(512, 0.f);
  for (const GgmlType id : kWeightTypes) {
    const QuantType& type = quant_type(id);
    for (const auto algorithm : {QuantAlgorithm::kBest, QuantAlgorithm::kReference}) {
      const auto back = dequantize(type, quantize(type, zero, {}, algorithm), 512);
      for (const float v : back) ASSERT_EQ(std::fabs(v), 0.f) << type.name;
    }
  }
}

// The imatrix is honoured: with it, the important columns are fitted better than without.
TEST(KQuants, ImatrixLowersTheWeightedError) {
  constexpr int64_t n = 4096;
  for (const GgmlType id : kWeightTypes) {
    const QuantType& type = quant_type(id);
    SCOPED_TRACE(std::string(type.name));
    const Row w = random_row(n, 41);
    for (const auto algorithm : {QuantAlgorithm::kBest, QuantAlgorithm::kReference}) {
      const auto plain = dequantize(type, quantize(type, w.x, {}, algorithm), n);
      const auto weighted = dequantize(type, quantize(type, w.x, w.imatrix, algorithm), n);
      EXPECT_LT(weighted_sse(w.x, weighted, &w.imatrix), weighted_sse(w.x, plain, &w.imatrix));
    }
  }
}

// Our search never loses to ggml's algorithm, on either error measure it targets.
TEST(KQuants, SearchIsNeverWorseThanGgmlsAlgorithm) {
  constexpr int64_t n = 2048;
  for (const GgmlType id : kWeightTypes) {
    const QuantType& type = quant_type(id);
    SCOPED_TRACE(std::string(type.name));
    for (uint32_t seed = 50; seed < 53; ++seed) {
      const Row w = random_row(n, seed);
      for (const bool with_imatrix : {false, true}) {
        const std::span<const float> im =
            with_imatrix ? std::span<const float>(w.imatrix) : std::span<const float>();
        const std::vector<float>* weights = with_imatrix ? &w.imatrix : nullptr;
        const double ours =
            weighted_sse(w.x, dequantize(type, quantize(type, w.x, im), n), weights);
        const double ref = weighted_sse(
            w.x, dequantize(type, quantize(type, w.x, im, QuantAlgorithm::kReference), n), weights);
        EXPECT_LE(ours, ref) << (with_imatrix ? "imatrix" : "plain");
      }
    }
  }
}

// ---------------------------------------------------------------- against the golden errors

// Our search against ggml's error on every golden k-quant case (the measure of each case:
// plain SSE, or imatrix-weighted SSE with the imatrix). Prints the ratios; each must be <= 1,
// and on the realistic sets the search must actually gain.
TEST(KQuantsShared, SearchLowersTheGoldenError) {
  QMIX_REQUIRE_SHARED(shared);
  const fs::path dir = shared / "golden" / "quant";
  const auto manifest = nlohmann::json::parse(test::read_text(dir / "manifest.json"));
  int checked = 0;
  for (const auto& c : manifest["cases"]) {
    const QuantType* type = *quant_type_by_name(c["type"].get<std::string>());
    if (std::find(std::begin(kWeightTypes), std::end(kWeightTypes), type->id) ==
        std::end(kWeightTypes))
      continue;
    const std::string set = c["set"];
    const bool with_imatrix = c["imatrix"];
    SCOPED_TRACE(set + "." + std::string(type->name) + (with_imatrix ? ".imat" : ".plain"));
    const auto sets = manifest["sets"];
    const auto s =
        *std::find_if(sets.begin(), sets.end(), [&](auto& e) { return e["name"] == set; });
    const int64_t rows = s["rows"], cols = s["cols"];
    const auto input = test::read_f32(dir / s["input"].get<std::string>());
    const auto imatrix = test::read_f32(dir / s["imatrix"].get<std::string>());
    std::vector<std::byte> q(*type->row_bytes(cols) * static_cast<size_t>(rows));
    const std::span<const float> im =
        with_imatrix ? std::span<const float>(imatrix) : std::span<const float>();
    ASSERT_TRUE(quantize_rows(*type, input, rows, cols, im, q).ok());
    std::vector<float> back(input.size());
    ASSERT_TRUE(dequantize_rows(*type, q, rows, cols, back).ok());
    std::vector<float> weights(input.size());
    for (size_t i = 0; i < weights.size(); ++i) weights[i] = imatrix[i % static_cast<size_t>(cols)];
    const double ours = weighted_sse(input, back, with_imatrix ? &weights : nullptr);
    const double golden =
        with_imatrix ? c["imatrix_weighted_sse"].get<double>() : c["sse"].get<double>();
    const double ratio = ours / golden;
    std::printf("  %-6s %-5s %-5s ours/golden = %.3f\n", set.c_str(),
                std::string(type->name).c_str(), with_imatrix ? "imat" : "plain", ratio);
    EXPECT_LE(ratio, 1 + 1e-6);
    if (set != "edge") {
      EXPECT_LT(ratio, 0.99);
    }
    ++checked;
  }
  EXPECT_EQ(checked, 30);
}

// The search's inner kernels have scalar, AVX2 and AVX-512 versions taking the same float
// steps: the refined super-blocks are identical, whichever runs.
TEST(KQuants, SearchIsTheSameOnScalarAndAvx2) {
  if (!cpu_features().use_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  using namespace kquant;
  std::mt19937 rng(3);
  for (const Format& f : {kFormatQ2K, kFormatQ3K, kFormatQ4K, kFormatQ5K, kFormatQ6K}) {
    for (int trial = 0; trial < 20; ++trial) {
      const Row row = random_row(kQKK, static_cast<uint32_t>(trial + 200));
      // A plausible start: levels and integer parameters at random, super-scales near the data.
      SuperBlock start;
      start.d = fp32_to_fp16(0.002f * (f.affine() ? 1.f : -1.f));
      start.dmin = fp32_to_fp16(f.affine() ? 0.001f : 0.f);
      for (int j = 0; j < f.sub_blocks(); ++j) {
        start.scale[j] = static_cast<int16_t>(
            std::uniform_int_distribution<int>(std::max(1, f.min_scale), f.max_scale)(rng));
        start.min[j] = static_cast<int16_t>(std::uniform_int_distribution<int>(0, f.max_min)(rng));
      }
      for (auto& l : start.level)
        l = static_cast<uint8_t>(std::uniform_int_distribution<int>(0, f.max_level)(rng));
      for (const float* w : {static_cast<const float*>(nullptr), row.imatrix.data()}) {
        SuperBlock scalar = start, simd = start, wide = start;
        refine(row.x.data(), w, f, scalar, SearchIsa::kScalar);
        refine(row.x.data(), w, f, simd, SearchIsa::kAvx2);
        ASSERT_EQ(std::memcmp(&scalar, &simd, sizeof scalar), 0) << f.max_level;
        if (cpu_features().use_avx512()) {
          refine(row.x.data(), w, f, wide, SearchIsa::kAvx512);
          ASSERT_EQ(std::memcmp(&scalar, &wide, sizeof scalar), 0) << f.max_level;
        }
        EXPECT_LT(super_block_error(row.x.data(), w, f, scalar),
                  super_block_error(row.x.data(), w, f, start));
      }
    }
  }
}

// The candidate kernels return the same errors, bit for bit, for ordinary candidates and for
// zero, negative, tiny and huge scales (whole passes of 16, so every lane of every kernel runs).
TEST(KQuants, CandidateKernelsAgreeBitForBit) {
  if (!cpu_features().use_avx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  using namespace kquant;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> unit(-1.f, 1.f);
  for (const Format& f : {kFormatQ2K, kFormatQ3K, kFormatQ4K, kFormatQ5K, kFormatQ6K}) {
    const Row row = random_row(f.sub_block, static_cast<uint32_t>(f.max_level));
    constexpr int kCount = 48;
    alignas(64) float dl[kCount], ml[kCount];
    for (int c = 0; c < kCount; ++c) {
      dl[c] = 0.004f * unit(rng);
      ml[c] = f.affine() ? 0.03f * std::fabs(unit(rng)) : 0.f;
    }
    dl[1] = 0.f;
    dl[2] = 1e-30f;
    dl[3] = 3e38f;
    dl[4] = -0.004f;
    alignas(64) float scalar[kCount], avx2[kCount], avx512[kCount];
    measure_candidates(row.x.data(), row.imatrix.data(), f, dl, ml, kCount, scalar);
    measure_candidates_avx2(row.x.data(), row.imatrix.data(), f, dl, ml, kCount, avx2);
    ASSERT_EQ(std::memcmp(scalar, avx2, sizeof scalar), 0) << f.max_level;
    if (!cpu_features().use_avx512()) continue;
    measure_candidates_avx512(row.x.data(), row.imatrix.data(), f, dl, ml, kCount, avx512);
    ASSERT_EQ(std::memcmp(scalar, avx512, sizeof scalar), 0) << f.max_level;
  }
}

// The AVX-512 choice among candidates is the sequential scan's: first strict minimum, NaNs never
// win, ties keep the earlier index, a NaN at index 0 is never beaten.
TEST(KQuants, FirstLeastAgreesWithTheSequentialScan) {
  if (!cpu_features().use_avx512()) GTEST_SKIP() << "no AVX-512 on this CPU";
  using namespace kquant;
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> small(0, 6);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int trial = 0; trial < 2000; ++trial) {
    const int count = 1 + trial % 70;
    alignas(64) float error[96];
    for (int c = 0; c < 96; ++c) error[c] = static_cast<float>(small(rng));  // many ties
    for (int c = 0; c < count; ++c)
      if (small(rng) == 0) error[c] = nan;
    if (trial % 7 == 0) error[0] = nan;
    if (trial % 11 == 0) error[count] = -1.f;  // past count: must be ignored
    ASSERT_EQ(first_least(error, count), first_least_avx512(error, count)) << trial;
  }
}

// Magnitudes from denormal-range scales to beyond half precision: the search never does worse
// than ggml's algorithm where ggml's result is finite, and never turns finite into non-finite.
TEST(KQuants, ExtremeMagnitudesKeepTheGuarantee) {
  for (const GgmlType id : kWeightTypes) {
    const QuantType& type = quant_type(id);
    for (const float magnitude : {1e-30f, 1e-8f, 1.f, 3e4f, 1e6f, 1e30f}) {
      SCOPED_TRACE(std::string(type.name) + " x" + std::to_string(magnitude));
      Row row = random_row(512, 77);
      for (float& v : row.x) v *= magnitude / 0.02f;
      for (const bool with_imatrix : {false, true}) {
        const std::span<const float> im =
            with_imatrix ? std::span<const float>(row.imatrix) : std::span<const float>();
        const std::vector<float>* weights = with_imatrix ? &row.imatrix : nullptr;
        const double ours =
            weighted_sse(row.x, dequantize(type, quantize(type, row.x, im), 512), weights);
        const double ref = weighted_sse(
            row.x, dequantize(type, quantize(type, row.x, im, QuantAlgorithm::kReference), 512),
            weights);
        if (std::isfinite(ref)) {
          EXPECT_TRUE(std::isfinite(ours));
          EXPECT_LE(ours, ref);
        }
      }
    }
  }
}

}  // namespace
}  // namespace qmix
