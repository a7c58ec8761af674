// IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S, IQ1_M: codebooks and derived search structures, SIMD vs
// scalar kernels, dot products vs dequantized values, the imatrix requirement, and byte-exact
// reproduction of ggml's reference quantizer on the golden vectors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>

#include "core/cpu.h"
#include "core/fp16.h"
#include "quant/iq2_blocks.h"
#include "quant/iq2_grids.h"
#include "quant/iq2_lattice.h"
#include "quant/quantize_rows.h"
#include "quant_test_helpers.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

namespace fs = std::filesystem;
using iq2::Codebook;
using iq2::Lattice;

constexpr GgmlType kFamily[] = {GgmlType::IQ2_XXS, GgmlType::IQ2_XS, GgmlType::IQ2_S,
                                GgmlType::IQ1_S, GgmlType::IQ1_M};

// ---------------------------------------------------------------- codebooks

// Level (0..2) of each element, packed 2 bits per element: the grids are listed in ascending
// order of this code in ggml, which catches dropped, duplicated or reordered entries.
template <size_t N>
std::vector<int> grid_codes(const std::array<uint64_t, N>& grid, const std::vector<int>& values) {
  std::vector<int> codes;
  for (const uint64_t entry : grid) {
    int code = 0;
    for (int j = 0; j < 8; ++j) {
      const auto it = std::find(values.begin(), values.end(), iq2::grid_byte(entry, j));
      EXPECT_NE(it, values.end()) << std::hex << entry;
      code |= static_cast<int>(it - values.begin()) << (2 * j);
    }
    codes.push_back(code);
  }
  return codes;
}

TEST(Iq2Grids, SizesOrderAndKnownEntries) {
  const std::vector<int> iq2_values = {0x08, 0x19, 0x2b};
  const std::vector<int> iq1_values = {0xff, 0x00, 0x01};
  for (const auto& codes :
       {grid_codes(iq2::iq2xxs_grid, iq2_values), grid_codes(iq2::iq2xs_grid, iq2_values),
        grid_codes(iq2::iq2s_grid, iq2_values), grid_codes(iq2::iq1s_grid, iq1_values)})
    EXPECT_TRUE(std::is_sorted(codes.begin(), codes.end(), std::less_equal<>()));
  // Entries as printed in ggml-common.h.
  EXPECT_EQ(iq2::iq2xxs_grid[1], 0x080808080808082bu);
  EXPECT_EQ(iq2::iq2xxs_grid[129], 0x082b2b08082b0808u);
  EXPECT_EQ(iq2::iq2xxs_grid[255], 0x2b2b2b1908081908u);
  EXPECT_EQ(iq2::iq2xs_grid[477], 0x2b192b2b08191919u);
  EXPECT_EQ(iq2::iq2xs_grid[511], 0x2b2b2b2b2b2b2b2bu);
  EXPECT_EQ(iq2::iq2s_grid[321], 0x0819191919082b08u);
  EXPECT_EQ(iq2::iq2s_grid[1023], 0x2b2b2b2b2b2b2b2bu);
  EXPECT_EQ(iq2::iq1s_grid[0], 0xffffffffffffffffu);
  EXPECT_EQ(iq2::iq1s_grid[1329], 0x0001000001000001u);
  EXPECT_EQ(iq2::iq1s_grid[1921], 0x0101ff0101ffffffu);
  EXPECT_EQ(iq2::iq1s_grid[2047], 0x0101010101010101u);
  // Sign table: bit 7 completes an even number of set bits.
  for (int i = 0; i < 128; ++i) {
    const int s = iq2::ksigns_iq2xs[static_cast<size_t>(i)];
    EXPECT_EQ(s & 127, i);
    EXPECT_EQ(std::popcount(static_cast<unsigned>(s)) % 2, 0);
  }
  for (int j = 0; j < 8; ++j) EXPECT_EQ(iq2::kmask_iq2xs[static_cast<size_t>(j)], 1 << j);
}

int level_distance(const Lattice& lattice, uint16_t code, int index) {
  int d2 = 0;
  for (int j = 0; j < 8; ++j) {
    const int diff = lattice.levels(index)[static_cast<size_t>(j)] - ((code >> (2 * j)) & 3);
    d2 += diff * diff;
  }
  return d2;
}

TEST(Iq2Lattice, NeighbourListsCoverTheNearestDistances) {
  const std::pair<Codebook, int> books[] = {
      {Codebook::kIq2xxs, 2}, {Codebook::kIq2xs, 2}, {Codebook::kIq2s, 1}, {Codebook::kIq1s, 3}};
  for (const auto& [book, depth] : books) {
    const Lattice& lattice = iq2::lattice(book);
    for (int i = 0; i < lattice.size(); ++i)
      ASSERT_EQ(lattice.index_of(iq2::code_of(lattice.levels(i).data())), i);
    int off_grid = 0;
    for (int c = 0; c < 1 << 16; ++c) {
      const auto code = static_cast<uint16_t>(c);
      bool valid = true;
      for (int j = 0; j < 8; ++j) valid = valid && ((code >> (2 * j)) & 3) != 3;
      if (!valid || lattice.index_of(code) >= 0) {
        EXPECT_TRUE(lattice.neighbours(code).empty());
        continue;
      }
      ++off_grid;
      const auto list = lattice.neighbours(code);
      ASSERT_FALSE(list.empty());
      std::vector<int> distances;
      for (size_t k = 0; k < list.size(); ++k) {
        distances.push_back(level_distance(lattice, code, list[k]));
        if (k > 0) {  // ordered by (distance, index)
          ASSERT_TRUE(distances[k - 1] < distances[k] ||
                      (distances[k - 1] == distances[k] && list[k - 1] < list[k]));
        }
      }
      const auto last = std::unique(distances.begin(), distances.end());
      ASSERT_EQ(last - distances.begin(), depth);
      // Nothing closer was left out: every point within the largest listed distance is listed.
      int within = 0;
      for (int i = 0; i < lattice.size(); ++i)
        within += level_distance(lattice, code, i) <= distances[static_cast<size_t>(depth - 1)];
      ASSERT_EQ(within, static_cast<int>(list.size()));
      if (off_grid > 300) break;  // a sample is enough for the expensive check
    }
    EXPECT_GT(off_grid, 0);
  }
}

// ---------------------------------------------------------------- kernels

using test::q8k_values;
using test::quantize;
using test::random_row;
using test::Row;
using test::to_q8k;
using test::weighted_error;

TEST(Iq2Family, SimdKernelsMatchScalar) {
  constexpr int64_t n = 4096;
  for (const GgmlType id : kFamily) {
    const QuantType& type = quant_type(id);
    SCOPED_TRACE(std::string(type.name));
    const Row w = random_row(n, 7);
    const Row a = random_row(n, 11);
    const auto blocks = quantize(type, w);
    const auto q8 = to_q8k(a.x);
    const QuantKernels& scalar = scalar_kernels(type);
    const QuantKernels& active = active_kernels(type);
    if (cpu_features().use_avx2()) {
      EXPECT_NE(active.dot, scalar.dot) << "no AVX2 dot";
    }
    std::vector<float> ref(n), got(n);
    scalar.dequantize(blocks.data(), ref.data(), n);
    active.dequantize(blocks.data(), got.data(), n);
    EXPECT_EQ(std::memcmp(ref.data(), got.data(), n * sizeof(float)), 0);
    // Both sum exact integers per block and combine blocks in the same order; allow only
    // float rounding differences (relative 1e-6 of the sum of magnitudes).
    const float ds = scalar.dot(blocks.data(), q8.data(), n);
    const float da = active.dot(blocks.data(), q8.data(), n);
    double magnitude = 0;
    const auto av = q8k_values(q8, n);
    for (int64_t i = 0; i < n; ++i) magnitude += std::fabs(ref[i] * av[i]);
    EXPECT_NEAR(da, ds, 1e-6 * magnitude);
    EXPECT_EQ(da, ds);  // by construction (same integers, same float steps); drop if a compiler
                        // contracts differently and keep the bound above
  }
}

TEST(Iq2Family, DotEqualsSumOfDequantizedProducts) {
  constexpr int64_t n = 2048;
  for (const GgmlType id : kFamily) {
    const QuantType& type = quant_type(id);
    SCOPED_TRACE(std::string(type.name));
    for (uint32_t seed = 1; seed <= 3; ++seed) {
      const Row w = random_row(n, seed);
      const Row a = random_row(n, seed + 100);
      const auto blocks = quantize(type, w);
      const auto q8 = to_q8k(a.x);
      std::vector<float> wv(n);
      scalar_kernels(type).dequantize(blocks.data(), wv.data(), n);
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

TEST(Iq2Family, ImatrixIsRequiredWhereGgmlRequiresIt) {
  const Row row = random_row(512, 3);
  for (const GgmlType id : kFamily) {
    const QuantType& type = quant_type(id);
    std::vector<std::byte> out(*type.row_bytes(512));
    const Status s = quantize_rows(type, row.x, 1, 512, {}, out);
    const bool needs = id == GgmlType::IQ2_XXS || id == GgmlType::IQ2_XS || id == GgmlType::IQ1_S;
    EXPECT_EQ(type.needs_imatrix, needs) << type.name;
    EXPECT_EQ(s.ok(), !needs) << type.name;
    if (!s.ok()) {
      EXPECT_NE(s.error().message.find("imatrix"), std::string::npos);
    }
  }
}

TEST(Iq2Family, SearchIsNeverWorseThanGgmlsAlgorithm) {
  for (const GgmlType id : kFamily) {
    const QuantType& type = quant_type(id);
    for (uint32_t seed = 20; seed < 23; ++seed) {
      const Row row = random_row(1024, seed);
      const double ours = weighted_error(type, row, QuantAlgorithm::kBest);
      const double reference = weighted_error(type, row, QuantAlgorithm::kReference);
      EXPECT_LE(ours, reference) << type.name;
      // The IQ2 formats have the refinement search (iq2_refine.h); IQ1 uses ggml's algorithm.
      if (id == GgmlType::IQ2_XXS || id == GgmlType::IQ2_XS || id == GgmlType::IQ2_S) {
        EXPECT_LT(ours, 0.95 * reference) << type.name;
      }
    }
  }
}

TEST(Iq2Family, ZeroRowsQuantizeToZero) {
  const Row zero{std::vector<float>(512, 0.f), std::vector<float>(512, 1.f)};
  for (const GgmlType id : kFamily) {
    const QuantType& type = quant_type(id);
    const auto blocks = quantize(type, zero);
    std::vector<float> back(512, 1.f);
    scalar_kernels(type).dequantize(blocks.data(), back.data(), 512);
    for (const float v : back) ASSERT_EQ(std::fabs(v), 0.f) << type.name;
  }
}

// ---------------------------------------------------------------- ggml's bytes

TEST(Iq2Family, ReferenceReproducesGgmlOnEdgeSet) {
  const fs::path dir = test::testdata_dir() / "golden" / "quant";
  if (!fs::exists(dir / "manifest.json")) GTEST_SKIP() << "testdata/golden/quant not present";
  int checked = 0;
  test::check_reference_bytes(dir, kFamily, checked);
  EXPECT_EQ(checked, 7);
}

TEST(Iq2FamilyShared, ReferenceReproducesGgmlOnAllSets) {
  QMIX_REQUIRE_SHARED(shared);
  int checked = 0;
  test::check_reference_bytes(shared / "golden" / "quant", kFamily, checked);
  EXPECT_EQ(checked, 21);
}

}  // namespace
}  // namespace qmix
