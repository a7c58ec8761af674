// The grid scans of the IQ2/IQ3 searches (iq2_scan.h): every ISA picks the same candidates as
// the scalar loop, and the grid quantizers on lanes write the same bytes as on scalar kernels.
#include <gtest/gtest.h>

#include <bit>
#include <random>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "quant/iq2_scan.h"
#include "quant/types.h"
#include "quant_test_helpers.h"

namespace qmix {
namespace {

using iq2::FlipSearch;
using iq2::LatticeShape;
using iq2::LevelTables;
using iq2::ScanBest;
using iq2::ScanIsa;

std::vector<ScanIsa> lane_isas() {
  std::vector<ScanIsa> out;
  if (cpu_features().use_avx2()) out.push_back(ScanIsa::kAvx2);
  if (cpu_features().use_avx512()) out.push_back(ScanIsa::kAvx512);
  return out;
}

// Tables drawn from few distinct values (many ties between candidates) or from a wide range.
LevelTables random_tables(LatticeShape shape, std::mt19937& rng, bool coarse) {
  LevelTables t(shape);
  std::uniform_real_distribution<float> wide(-1.f, 1.f);
  std::uniform_int_distribution<int> few(0, 3);
  const int levels = 1 << shape.level_bits;
  for (int j = 0; j < shape.group_size; ++j) {
    float cost[8], flip[8];
    for (int l = 0; l < levels; ++l) {
      cost[l] = coarse ? 0.25f * static_cast<float>(few(rng)) : wide(rng);
      flip[l] = coarse ? 0.5f * static_cast<float>(few(rng)) : std::abs(wide(rng));
    }
    t.set(t.cost, j, cost, levels);
    t.set(t.flip, j, flip, levels);
  }
  return t;
}

void expect_same(const ScanBest& a, const ScanBest& b, FlipSearch flips) {
  EXPECT_EQ(a.natural, b.natural);
  EXPECT_EQ(std::bit_cast<uint32_t>(a.natural_cost), std::bit_cast<uint32_t>(b.natural_cost));
  if (flips == FlipSearch::kNone) return;
  EXPECT_EQ(a.flipped, b.flipped);
  EXPECT_EQ(std::bit_cast<uint32_t>(a.flipped_cost), std::bit_cast<uint32_t>(b.flipped_cost));
}

TEST(Iq2Scan, LanesPickTheScalarCandidates) {
  if (lane_isas().empty()) GTEST_SKIP() << "no AVX2 on this CPU (or QMIX_FORCE_SCALAR is set)";
  std::mt19937 rng(7);
  for (const LatticeShape shape : {iq2::kShape8x2, iq2::kShape4x3}) {
    const int code_bits = shape.group_size * shape.level_bits;
    std::uniform_int_distribution<int> code(0, (1 << code_bits) - 1);
    for (int trial = 0; trial < 400; ++trial) {
      const bool coarse = trial % 2 == 0;
      const LevelTables elements = random_tables(shape, rng, coarse);
      // Groups of 8 also scan in pairs of elements (our refinement's order).
      const LevelTables t = shape.group_size == 8 && trial % 4 < 2
                                ? elements.paired(FlipSearch::kCheapestFlip)
                                : elements;
      std::vector<uint16_t> codes(static_cast<size_t>(1 + trial % 70));  // every tail length
      for (uint16_t& c : codes) c = static_cast<uint16_t>(code(rng));
      for (const FlipSearch flips : {FlipSearch::kNone, FlipSearch::kCheapestFlip}) {
        const ScanBest ref = iq2::scan_codes(t, codes, flips, ScanIsa::kScalar);
        for (const ScanIsa isa : lane_isas()) {
          SCOPED_TRACE("isa " + std::to_string(static_cast<int>(isa)) + " trial " +
                       std::to_string(trial));
          expect_same(iq2::scan_codes(t, codes, flips, isa), ref, flips);
        }
      }
    }
  }
}

// ggml's neighbour choice in one AVX2 or AVX-512 call against the scalar scan of the same terms
// (waux * diff * diff, summed element by element as ggml's loop does).
TEST(Iq2Scan, NearestCandidateIsGgmlsChoice) {
  if (lane_isas().empty()) GTEST_SKIP() << "no AVX2 on this CPU (or QMIX_FORCE_SCALAR is set)";
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> value(0.f, 1.f);
  for (const LatticeShape shape : {iq2::kShape8x2, iq2::kShape4x3}) {
    const int levels = shape.group_size == 8 ? 3 : 8;
    std::uniform_int_distribution<int> level(0, levels - 1);
    for (int trial = 0; trial < 300; ++trial) {
      float xval[8], waux[8];
      for (int i = 0; i < shape.group_size; ++i) {
        // Coarse values and zero weights make equal sums (ties go to the first candidate).
        xval[i] = trial % 2 ? value(rng) * 8 : static_cast<float>(level(rng));
        waux[i] = trial % 3 == 0 && i % 2 ? 0.f : value(rng);
      }
      const float scale = 0.5f + value(rng);
      std::vector<uint16_t> codes(static_cast<size_t>(1 + trial % 40) + 16);  // 16 readable past
      for (uint16_t& c : codes) {
        c = 0;
        for (int j = 0; j < shape.group_size; ++j)
          c = static_cast<uint16_t>(c | level(rng) << (shape.level_bits * j));
      }
      const std::span<const uint16_t> list(codes.data(), codes.size() - 16);
      LevelTables t(shape);
      for (int i = 0; i < shape.group_size; ++i) {
        float term[8];
        for (int l = 0; l < levels; ++l) {
          const float diff = scale * static_cast<float>(2 * l + 1) - xval[i];
          term[l] = waux[i] * diff * diff;
        }
        t.set(t.cost, i, term, levels);
      }
      const int ggml = iq2::scan_codes(t, list, FlipSearch::kNone, ScanIsa::kScalar).natural;
      EXPECT_EQ(iq2::nearest_candidate_avx2(shape, xval, waux, scale, list), ggml)
          << "AVX2, trial " << trial;
      if (cpu_features().use_avx512()) {
        EXPECT_EQ(iq2::nearest_candidate_avx512(shape, xval, waux, scale, list), ggml)
            << "AVX-512, trial " << trial;
      }
    }
  }
}

// Our search and ggml's algorithm on lanes against the scalar kernels, with and without an
// imatrix: the same bytes.
TEST(Iq2Scan, GridQuantizersOnLanesWriteTheScalarBytes) {
  if (lane_isas().empty()) GTEST_SKIP() << "no AVX2 on this CPU (or QMIX_FORCE_SCALAR is set)";
  for (const GgmlType id :
       {GgmlType::IQ2_XXS, GgmlType::IQ2_XS, GgmlType::IQ2_S, GgmlType::IQ3_XXS, GgmlType::IQ3_S}) {
    const QuantType& type = quant_type(id);
    SCOPED_TRACE(std::string(type.name));
    const QuantKernels& scalar = scalar_kernels(type);
    const QuantKernels& lanes = active_kernels(type);
    ASSERT_NE(lanes.quantize, scalar.quantize) << "no lane quantizer registered";
    for (uint32_t seed = 1; seed <= 2; ++seed) {
      const test::Row row = test::random_row(1024, seed);
      for (const float* im : {row.imatrix.data(), static_cast<const float*>(nullptr)}) {
        for (const auto pick : {&QuantKernels::quantize, &QuantKernels::quantize_reference}) {
          std::vector<std::byte> a(*type.row_bytes(1024)), b(a.size());
          (scalar.*pick)(row.x.data(), a.data(), 1024, im);
          (lanes.*pick)(row.x.data(), b.data(), 1024, im);
          EXPECT_EQ(a, b) << (pick == &QuantKernels::quantize ? "ours" : "ggml's")
                          << (im ? " with" : " without") << " imatrix";
        }
      }
    }
  }
}

}  // namespace
}  // namespace qmix
