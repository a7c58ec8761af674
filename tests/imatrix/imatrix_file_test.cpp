// llama.cpp imatrix formats: an independent fixture (testdata/imatrix/make_fixture.py), round
// trips, hostile inputs, and llama-imatrix's own files from ../shared.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "gguf/gguf_writer.h"
#include "imatrix/imatrix_file.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

using test::read_bytes;
using test::TempDir;

std::filesystem::path fixture(const std::string& name) {
  return test::testdata_dir() / "imatrix" / name;
}

Imatrix read_ok(const std::filesystem::path& path, ImatrixReadOptions options = {}) {
  auto r = read_imatrix(path, options);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? std::move(r).value() : Imatrix{};
}

// The values make_fixture.py documents.
void expect_fixture_content(const Imatrix& im, bool per_expert_counts) {
  ASSERT_EQ(im.entries.size(), 2u);
  EXPECT_EQ(im.chunk_count, 4);
  EXPECT_EQ(im.datasets, std::vector<std::string>{"calib.txt"});
  const ImatrixEntry* q = im.find("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->counts, std::vector<int64_t>{64});
  const auto q_mean = q->mean_sq(0);
  for (int i = 0; i < 32; ++i) EXPECT_FLOAT_EQ(q_mean[i], 0.25f * (i % 7 + 1)) << i;
  const ImatrixEntry* exps = im.find("blk.0.ffn_up_exps.weight");
  ASSERT_NE(exps, nullptr);
  const auto means = exps->mean_sq_all();
  ASSERT_EQ(means.size(), 96u);
  for (int e = 0; e < 3; ++e)
    for (int i = 0; i < 32; ++i) {
      // Expert 1 never saw a row: importance 1 (llama-quantize's convention).
      const float want = e == 1 ? 1.0f : 0.5f * (i % 5 + e + 1);
      EXPECT_FLOAT_EQ(means[e * 32 + i], want) << e << "," << i;
    }
  if (per_expert_counts) {
    EXPECT_EQ(exps->n_per_row, 32);
    EXPECT_EQ(exps->counts, (std::vector<int64_t>{40, 0, 88}));
  }
}

TEST(ImatrixFile, ReadsGgufFixture) {
  const Imatrix im = read_ok(fixture("small.imatrix.gguf"));
  EXPECT_EQ(im.chunk_size, 32);
  expect_fixture_content(im, true);
}

TEST(ImatrixFile, ReadsDatFixture) {
  const Imatrix im = read_ok(fixture("small.imatrix.dat"), {.legacy_chunk_size = 32});
  expect_fixture_content(im, false);
  // The legacy format keeps no matrix shape and one call count per tensor.
  const ImatrixEntry* exps = im.find("blk.0.ffn_up_exps.weight");
  EXPECT_EQ(exps->n_per_row, 96);
  EXPECT_EQ(exps->counts, std::vector<int64_t>{3 * 32});
}

TEST(ImatrixFile, WritesFixtureBytesExactly) {
  TempDir dir;
  const Imatrix im = read_ok(fixture("small.imatrix.gguf"));
  ASSERT_TRUE(write_imatrix(im, dir / "a.gguf", ImatrixFormat::kGguf).ok());
  EXPECT_EQ(read_bytes(dir / "a.gguf"), read_bytes(fixture("small.imatrix.gguf")));
  ASSERT_TRUE(write_imatrix(im, dir / "a.dat", ImatrixFormat::kDat).ok());
  EXPECT_EQ(read_bytes(dir / "a.dat"), read_bytes(fixture("small.imatrix.dat")));
}

TEST(ImatrixFile, DatRoundTripKeepsMeans) {
  TempDir dir;
  const Imatrix im = read_ok(fixture("small.imatrix.dat"), {.legacy_chunk_size = 32});
  ASSERT_TRUE(write_imatrix(im, dir / "b.dat", ImatrixFormat::kDat).ok());
  EXPECT_EQ(read_bytes(dir / "b.dat"), read_bytes(fixture("small.imatrix.dat")));
  ASSERT_TRUE(write_imatrix(im, dir / "b.gguf", ImatrixFormat::kGguf).ok());
  expect_fixture_content(read_ok(dir / "b.gguf"), false);
}

TEST(ImatrixFile, KeepsOptionalSumOfX) {
  TempDir dir;
  Imatrix im = read_ok(fixture("small.imatrix.gguf"));
  ImatrixEntry& e = *im.find("blk.0.attn_q.weight");
  e.sum.assign(e.sum_sq.size(), -1.5);
  ASSERT_TRUE(write_imatrix(im, dir / "s.gguf", ImatrixFormat::kGguf).ok());
  const Imatrix back = read_ok(dir / "s.gguf");
  EXPECT_EQ(back.find("blk.0.attn_q.weight")->sum, e.sum);
  EXPECT_TRUE(back.find("blk.0.ffn_up_exps.weight")->sum.empty());
}

TEST(ImatrixFile, KeepsPerChunkStatistics) {
  TempDir dir;
  Imatrix im = read_ok(fixture("small.imatrix.gguf"));
  for (auto& e : im.entries) {
    e.chunk_sum_sq = {1.5, 2.5, 0, 4};
    e.chunk_counts = {16, 16, 0, 32};
  }
  ASSERT_TRUE(write_imatrix(im, dir / "c.gguf", ImatrixFormat::kGguf).ok());
  const Imatrix back = read_ok(dir / "c.gguf");
  for (const auto& e : back.entries) {
    EXPECT_EQ(e.chunk_sum_sq, (std::vector<double>{1.5, 2.5, 0, 4}));
    EXPECT_EQ(e.chunk_counts, (std::vector<int64_t>{16, 16, 0, 32}));
  }
  // Only one of the pair is corrupt.
  im.entries[0].chunk_counts.pop_back();
  EXPECT_FALSE(write_imatrix(im, dir / "d.gguf", ImatrixFormat::kGguf).ok());
}

TEST(ImatrixFile, FormatNames) {
  EXPECT_EQ(*parse_imatrix_format("dat"), ImatrixFormat::kDat);
  EXPECT_EQ(*parse_imatrix_format("gguf"), ImatrixFormat::kGguf);
  EXPECT_FALSE(parse_imatrix_format("bin").ok());
  EXPECT_EQ(imatrix_format_for_path("x/imatrix.dat"), ImatrixFormat::kDat);
  EXPECT_EQ(imatrix_format_for_path("x/imatrix.gguf"), ImatrixFormat::kGguf);
}

// ---- hostile input ----

TEST(ImatrixFile, EveryTruncatedDatIsAnError) {
  const auto bytes = read_bytes(fixture("small.imatrix.dat"));
  // Cutting inside an entry or inside the trailer is corrupt; cutting exactly after the
  // entries (very old files end there) or after the chunk count is accepted.
  size_t accepted = 0;
  for (size_t n = 0; n < bytes.size(); ++n) {
    const auto r = parse_imatrix_dat(std::span(bytes).first(n), "cut.dat", {});
    if (r.ok()) {
      ++accepted;
      continue;
    }
    EXPECT_NE(r.error().message.find("cut.dat"), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(accepted, 2u);
}

TEST(ImatrixFile, RandomlyCorruptedFilesNeverCrash) {
  std::mt19937 rng(7);
  for (const char* name : {"small.imatrix.dat", "small.imatrix.gguf"}) {
    const auto original = read_bytes(fixture(name));
    for (int trial = 0; trial < 400; ++trial) {
      auto bytes = original;
      for (int k = 0; k < 4; ++k) bytes[rng() % bytes.size()] = static_cast<std::byte>(rng());
      auto gguf = GgufFile::parse(bytes, name);
      if (gguf.ok()) {
        (void)imatrix_from_gguf(*gguf);
      } else {
        (void)parse_imatrix_dat(bytes, name, {});
      }
    }
  }
}

TEST(ImatrixFile, DatHugeCountsAreRejected) {
  std::vector<std::byte> bytes(12);
  const int32_t fields[3] = {0x7fffffff, 4, 0};
  std::memcpy(bytes.data(), fields, sizeof fields);
  const auto r = parse_imatrix_dat(bytes, "huge.dat", {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("entry count"), std::string::npos) << r.error().message;
}

// Builds a GGUF image with the given tensors (all F32 unless typed) and metadata.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  float fill = 1.0f;
  GgmlType type = GgmlType::F32;
};

Expected<Imatrix> parse_built(const std::vector<TensorSpec>& tensors,
                              const GgufValue& type = GgufValue::string("imatrix")) {
  TempDir dir;
  GgufWriter w;
  w.set("general.type", type);
  for (const auto& t : tensors) QMIX_TRY(w.add_tensor(t.name, t.shape, t.type));
  QMIX_TRY(w.begin(dir / "t.gguf"));
  for (size_t i = 0; i < tensors.size(); ++i) {
    std::vector<float> values(w.tensors()[i].n_bytes / sizeof(float), tensors[i].fill);
    std::vector<std::byte> raw(w.tensors()[i].n_bytes);
    const size_t n = std::min(raw.size(), values.size() * sizeof(float));
    if (n > 0)  // an empty vector's data() may be null: memcpy of it is UB even for 0 bytes
      std::memcpy(raw.data(), values.data(), n);
    QMIX_TRY(w.write_tensor_data(raw));
  }
  QMIX_TRY(w.finish());
  return read_imatrix(dir / "t.gguf");
}

std::string error_of(const Expected<Imatrix>& r) { return r.ok() ? "ok" : r.error().message; }

TEST(ImatrixFile, GgufStructuralErrorsNameTheTensor) {
  EXPECT_TRUE(parse_built({{"w.in_sum2", {8}}, {"w.counts", {1}}}).ok());
  EXPECT_NE(error_of(parse_built({{"w.in_sum2", {8}}})).find("'w' lacks its .counts"),
            std::string::npos);
  EXPECT_NE(error_of(parse_built({{"w.counts", {1}}})).find("lacks its .in_sum2"),
            std::string::npos);
  EXPECT_NE(error_of(parse_built({{"w.in_sum2", {8, 2}}, {"w.counts", {1}}})).find("2 matrices"),
            std::string::npos);
  EXPECT_NE(error_of(parse_built({{"w.in_sum2", {8}}, {"w.counts", {1}, 1.0f, GgmlType::F16}}))
                .find("expected F32"),
            std::string::npos);
  EXPECT_NE(error_of(parse_built({{"w.in_sum2", {8}, -1.0f}, {"w.counts", {1}}})).find("'w'"),
            std::string::npos);
  EXPECT_NE(error_of(parse_built({{"w.in_sum2", {8}}, {"w.counts", {1}, NAN}})).find("w.counts"),
            std::string::npos);
  EXPECT_NE(error_of(parse_built({{"w.in_sum2", {8}}, {"w.in_sum", {4}}, {"w.counts", {1}}}))
                .find("in_sum"),
            std::string::npos);
  EXPECT_NE(error_of(parse_built({{"token_embd.weight", {8}}})).find("no importance data"),
            std::string::npos);
  EXPECT_NE(
      error_of(parse_built({{"w.in_sum2", {8}}, {"w.counts", {1}}}, GgufValue::string("model")))
          .find("not an imatrix"),
      std::string::npos);
}

TEST(ImatrixFile, WriteFailureLeavesNothing) {
  TempDir dir;
  Imatrix im = read_ok(fixture("small.imatrix.gguf"));
  im.entries[0].sum_sq[3] = NAN;
  EXPECT_FALSE(write_imatrix(im, dir / "bad.gguf", ImatrixFormat::kGguf).ok());
  EXPECT_FALSE(write_imatrix(im, dir / "bad.dat", ImatrixFormat::kDat).ok());
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

// ---- llama.cpp's own files ----

const char* const kModels[] = {"tiny-llama", "tiny-qwen3", "tiny-qwen3moe", "tiny-qwen35"};

TEST(ImatrixFileShared, LlamaCppGgufRoundTripsByteExactly) {
  QMIX_REQUIRE_SHARED(shared);
  TempDir dir;
  for (const char* model : kModels)
    for (const char* corpus : {"wiki", "reasoning"}) {
      const auto path = shared / "gguf/imatrix" / fmt::format("{}.{}.imatrix.gguf", model, corpus);
      const Imatrix im = read_ok(path);
      EXPECT_EQ(im.chunk_count, 40) << path;
      EXPECT_EQ(im.chunk_size, 256) << path;
      ASSERT_TRUE(write_imatrix(im, dir / "out.gguf", ImatrixFormat::kGguf).ok());
      EXPECT_EQ(read_bytes(dir / "out.gguf"), read_bytes(path)) << path;
    }
}

// llama-imatrix wrote the .dat in a separate run over the same data: our legacy encoding of
// its GGUF must agree with its .dat, and reading its .dat must give the same means.
TEST(ImatrixFileShared, LlamaCppDatMatchesItsGguf) {
  QMIX_REQUIRE_SHARED(shared);
  for (const char* model : kModels) {
    const auto base = shared / "gguf/imatrix" / fmt::format("{}.wiki.imatrix", model);
    const Imatrix gguf = read_ok(base.string() + ".gguf");
    const Imatrix dat = read_ok(base.string() + ".dat", {.legacy_chunk_size = 256});
    EXPECT_EQ(dat.chunk_count, gguf.chunk_count);
    EXPECT_EQ(dat.datasets, gguf.datasets);
    ASSERT_EQ(dat.entries.size(), gguf.entries.size()) << model;
    double worst = 0;
    for (size_t i = 0; i < gguf.entries.size(); ++i) {
      const auto& g = gguf.entries[i];
      const auto& d = dat.entries[i];
      ASSERT_EQ(g.name, d.name);
      const auto gm = g.mean_sq_all();
      const auto dm = d.mean_sq_all();
      ASSERT_EQ(gm.size(), dm.size()) << g.name;
      for (size_t k = 0; k < gm.size(); ++k)
        worst = std::max(worst, std::abs(double(gm[k]) - dm[k]) / std::max(1e-30, double(gm[k])));
    }
    // Two float roundings (× ncall, ÷ ncall) separate the two files' means.
    EXPECT_LT(worst, 3e-7) << model;
    const auto encoded = encode_imatrix_dat(gguf);
    ASSERT_TRUE(encoded.ok());
    EXPECT_EQ(*encoded, read_bytes(base.string() + ".dat")) << model;
  }
}

}  // namespace
}  // namespace qmix
