// Golden vectors from ggml's reference quantizer (../shared/golden/quant, README there;
// the small "edge" set is copied into testdata/golden/quant so it runs on a fresh clone).
// For every case: dequantize(golden blocks) == golden floats bit for bit, and our quantization's
// error is <= the golden's (plain SSE, or imatrix-weighted SSE in imatrix cases), and the
// SIMD quantizer reproduces the scalar one's bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "quant/quantize_rows.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct GoldenCase {
  std::string set, type, quantized, dequantized;
  bool imatrix = false;
  double sse = 0, weighted_sse = 0;
  int64_t rows = 0, cols = 0;
  std::string input, imatrix_file;
};

std::vector<GoldenCase> load_cases(const fs::path& dir) {
  const json m = json::parse(test::read_text(dir / "manifest.json"));
  std::map<std::string, json> sets;
  for (const auto& s : m["sets"]) sets[s["name"]] = s;
  std::vector<GoldenCase> out;
  for (const auto& c : m["cases"]) {
    GoldenCase g;
    g.set = c["set"];
    g.type = c["type"];
    g.imatrix = c["imatrix"];
    g.quantized = c["quantized"];
    g.dequantized = c["dequantized"];
    g.sse = c["sse"];
    g.weighted_sse = c["imatrix_weighted_sse"];
    const json& s = sets.at(g.set);
    g.rows = s["rows"];
    g.cols = s["cols"];
    g.input = s["input"];
    g.imatrix_file = s["imatrix"];
    if (fs::exists(dir / g.quantized)) out.push_back(g);
  }
  return out;
}

struct Errors {
  double sse = 0, weighted = 0;
};

Errors errors(const std::vector<float>& x, const std::vector<float>& y, const std::vector<float>& w,
              int64_t cols) {
  Errors e;
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = static_cast<double>(x[i]) - static_cast<double>(y[i]);
    e.sse += d * d;
    e.weighted += static_cast<double>(w[i % static_cast<size_t>(cols)]) * d * d;
  }
  return e;
}

// Worst and mean ratio of our error to the golden's over a type's cases.
struct Ratios {
  double worst = 0, sum = 0;
  int cases = 0;
};

// Counts in `checked` the cases run with implemented kernels; collects our error / golden's.
void check_all(const fs::path& dir, int& checked, std::map<std::string, Ratios>& ratios) {
  for (const GoldenCase& g : load_cases(dir)) {
    SCOPED_TRACE(g.set + "." + g.type + (g.imatrix ? ".imat" : ".plain"));
    auto type = quant_type_by_name(g.type);
    ASSERT_TRUE(type.ok()) << type.error().message;
    const QuantKernels& k = scalar_kernels(**type);
    if (k.dequantize == nullptr || k.quantize == nullptr) {
      ADD_FAILURE() << "kernels for " << g.type << " are not implemented";
      continue;
    }
    const auto blocks = test::read_bytes(dir / g.quantized);
    const auto expected = test::read_f32(dir / g.dequantized);
    const auto input = test::read_f32(dir / g.input);
    const auto imatrix = test::read_f32(dir / g.imatrix_file);

    // 1. Dequantization is bit-exact, scalar and active (SIMD) kernels alike.
    for (const QuantKernels* kern : {&scalar_kernels(**type), &active_kernels(**type)}) {
      std::vector<float> got(expected.size());
      const int64_t row_bytes = static_cast<int64_t>(*(*type)->row_bytes(g.cols));
      for (int64_t r = 0; r < g.rows; ++r)
        kern->dequantize(blocks.data() + r * row_bytes, got.data() + r * g.cols, g.cols);
      ASSERT_EQ(std::memcmp(got.data(), expected.data(), got.size() * sizeof(float)), 0)
          << "dequantization differs from ggml";
    }

    // 2. Our quantization's error is no larger than the reference's.
    std::vector<std::byte> ours(blocks.size());
    const std::span<const float> im =
        g.imatrix ? std::span<const float>(imatrix) : std::span<const float>();
    const Status s = quantize_rows(**type, input, g.rows, g.cols, im, ours);
    ASSERT_TRUE(s.ok()) << s.error().message;
    std::vector<float> back(expected.size());
    ASSERT_TRUE(dequantize_rows(**type, ours, g.rows, g.cols, back).ok());
    const Errors e = errors(input, back, imatrix, g.cols);
    const double golden = g.imatrix ? g.weighted_sse : g.sse;
    const double mine = g.imatrix ? e.weighted : e.sse;
    // Tolerance only for float summation order (the golden sums are float32 sums).
    EXPECT_LE(mine, golden * (1 + 1e-5) + 1e-30) << "our error " << mine << " vs golden " << golden;
    if (golden > 0) {
      Ratios& r = ratios[g.type];
      r.worst = std::max(r.worst, mine / golden);
      r.sum += mine / golden;
      ++r.cases;
    }
    // 3. The active (SIMD) quantizer gives the scalar one's bytes on these inputs too.
    if (k.quantize != active_kernels(**type).quantize) {
      const QuantKernels& fast = active_kernels(**type);
      std::vector<std::byte> scalar_bytes(blocks.size()), fast_bytes(blocks.size());
      const int64_t row_bytes = static_cast<int64_t>(*(*type)->row_bytes(g.cols));
      for (int64_t r = 0; r < g.rows; ++r) {
        const float* row = input.data() + r * g.cols;
        const float* w = g.imatrix ? imatrix.data() : nullptr;
        k.quantize(row, scalar_bytes.data() + r * row_bytes, g.cols, w);
        fast.quantize(row, fast_bytes.data() + r * row_bytes, g.cols, w);
      }
      EXPECT_TRUE(fast_bytes == scalar_bytes) << "SIMD quantization differs from scalar";
    }
    ++checked;
  }
}

TEST(Golden, EdgeSetFromTestdata) {
  const fs::path dir = test::testdata_dir() / "golden" / "quant";
  if (!fs::exists(dir / "manifest.json")) GTEST_SKIP() << "testdata/golden/quant not present";
  int checked = 0;
  std::map<std::string, Ratios> ratios;
  check_all(dir, checked, ratios);
  EXPECT_GT(checked, 0);
}

TEST(GoldenShared, AllSets) {
  QMIX_REQUIRE_SHARED(shared);
  int checked = 0;
  std::map<std::string, Ratios> ratios;
  check_all(shared / "golden" / "quant", checked, ratios);
  EXPECT_GT(checked, 0);
  for (const auto& [type, r] : ratios)
    std::printf("  %-8s ours/golden worst %.3f mean %.3f (%d cases)\n", type.c_str(), r.worst,
                r.sum / r.cases, r.cases);
}

}  // namespace
}  // namespace qmix
