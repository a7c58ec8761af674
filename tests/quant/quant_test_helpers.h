// Helpers shared by the quant tests: activation rows in the dot partner formats, random rows,
// and the byte-exact comparison with ggml's reference quantizer on the golden vectors.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <span>
#include <vector>

#include "quant/block_layouts.h"
#include "quant/quantize_rows.h"
#include "testutil/testutil.h"

namespace qmix::test {

// Q8_K activations as ggml's quantize_row_q8_K_ref makes them (test-local until the Q8_K
// kernels land; the library's are used when present).
inline std::vector<std::byte> to_q8k(const std::vector<float>& x) {
  const QuantType& q8k = quant_type(GgmlType::Q8_K);
  std::vector<std::byte> out(*q8k.row_bytes(static_cast<int64_t>(x.size())));
  if (const auto quantize = scalar_kernels(q8k).quantize) {
    quantize(x.data(), out.data(), static_cast<int64_t>(x.size()), nullptr);
    return out;
  }
  auto* blocks = reinterpret_cast<layout::BlockQ8K*>(out.data());
  for (size_t b = 0; b < x.size() / layout::kQKK; ++b) {
    const float* xb = x.data() + b * layout::kQKK;
    layout::BlockQ8K& y = blocks[b];
    float amax = 0, max = 0;
    for (int j = 0; j < layout::kQKK; ++j)
      if (std::fabs(xb[j]) > amax) {
        amax = std::fabs(xb[j]);
        max = xb[j];
      }
    std::memset(&y, 0, sizeof y);
    if (amax == 0) continue;
    const float iscale = -127.f / max;
    for (int j = 0; j < layout::kQKK; ++j)
      y.qs[j] =
          static_cast<int8_t>(std::min(127, static_cast<int>(std::nearbyint(iscale * xb[j]))));
    for (int j = 0; j < layout::kQKK / 16; ++j) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += y.qs[16 * j + i];
      y.bsums[j] = static_cast<int16_t>(sum);
    }
    y.d = 1 / iscale;
  }
  return out;
}

inline std::vector<float> q8k_values(const std::vector<std::byte>& q8k, size_t n) {
  std::vector<float> out(n);
  const auto* blocks = reinterpret_cast<const layout::BlockQ8K*>(q8k.data());
  for (size_t i = 0; i < n; ++i) {
    const auto& b = blocks[i / layout::kQKK];
    out[i] = b.d * static_cast<float>(b.qs[i % layout::kQKK]);
  }
  return out;
}

struct Row {
  std::vector<float> x, imatrix;
};

// N(0, 0.02²) with every 97th value ×20, and log-normal importances.
inline Row random_row(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss(0.f, 0.02f);
  std::lognormal_distribution<float> importance(0.f, 1.f);
  Row r;
  for (int64_t i = 0; i < n; ++i) {
    r.x.push_back(gauss(rng) * (i % 97 == 0 ? 20.f : 1.f));
    r.imatrix.push_back(importance(rng));
  }
  return r;
}

inline std::vector<std::byte> quantize(const QuantType& type, const Row& row,
                                       QuantAlgorithm algorithm = QuantAlgorithm::kBest) {
  const auto n = static_cast<int64_t>(row.x.size());
  std::vector<std::byte> out(*type.row_bytes(n));
  QuantizeOptions options;
  options.algorithm = algorithm;
  const Status s = quantize_rows(type, row.x, 1, n, row.imatrix, out, options);
  EXPECT_TRUE(s.ok()) << s.error().message;
  return out;
}

// Σ w (x - x̂)² of a row quantized with `algorithm` (w = the row's imatrix).
inline double weighted_error(const QuantType& type, const Row& row, QuantAlgorithm algorithm) {
  const auto n = static_cast<int64_t>(row.x.size());
  const auto q = quantize(type, row, algorithm);
  std::vector<float> back(row.x.size());
  scalar_kernels(type).dequantize(q.data(), back.data(), n);
  double e = 0;
  for (size_t i = 0; i < back.size(); ++i) {
    const double d = static_cast<double>(row.x[i]) - back[i];
    e += row.imatrix[i] * d * d;
  }
  return e;
}

// The reference algorithm reproduces ggml's quantization byte for byte on every golden case of
// the given types; counts the cases compared in `checked`.
inline void check_reference_bytes(const std::filesystem::path& dir, std::span<const GgmlType> types,
                                  int& checked) {
  const auto manifest = nlohmann::json::parse(read_text(dir / "manifest.json"));
  for (const auto& c : manifest["cases"]) {
    const auto type = quant_type_by_name(c["type"].get<std::string>());
    ASSERT_TRUE(type.ok());
    if (std::find(types.begin(), types.end(), (*type)->id) == types.end()) continue;
    if (!std::filesystem::exists(dir / c["quantized"].get<std::string>())) continue;
    const std::string set = c["set"];
    SCOPED_TRACE(set + "." + std::string((*type)->name) + (c["imatrix"] ? ".imat" : ".plain"));
    const auto sets = manifest["sets"];
    const auto s =
        *std::find_if(sets.begin(), sets.end(), [&](auto& e) { return e["name"] == set; });
    const int64_t rows = s["rows"], cols = s["cols"];
    const auto input = read_f32(dir / s["input"].get<std::string>());
    const auto imatrix = read_f32(dir / s["imatrix"].get<std::string>());
    const auto golden = read_bytes(dir / c["quantized"].get<std::string>());
    std::vector<std::byte> ours(golden.size());
    QuantizeOptions options;
    options.algorithm = QuantAlgorithm::kReference;
    const std::span<const float> im =
        c["imatrix"] ? std::span<const float>(imatrix) : std::span<const float>();
    ASSERT_TRUE(quantize_rows(**type, input, rows, cols, im, ours, options).ok());
    const int64_t row_bytes = static_cast<int64_t>(*(*type)->row_bytes(cols));
    for (int64_t r = 0; r < rows; ++r)
      EXPECT_EQ(std::memcmp(ours.data() + r * row_bytes, golden.data() + r * row_bytes,
                            static_cast<size_t>(row_bytes)),
                0)
          << "row " << r << " differs from ggml";
    ++checked;
  }
}

}  // namespace qmix::test
