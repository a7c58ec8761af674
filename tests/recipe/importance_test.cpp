#include "recipe/importance.h"

#include <gtest/gtest.h>

#include "testutil/testutil.h"

namespace qmix {
namespace {

Imatrix sample_imatrix() {
  Imatrix im;
  im.chunk_count = 7;
  im.datasets = {"wiki.txt", "other.txt"};
  ImatrixEntry dense;
  dense.name = "blk.0.attn_q.weight";
  dense.n_per_row = 2;
  dense.sum_sq = {4.0, 6.0};
  dense.counts = {2};
  ImatrixEntry experts;
  experts.name = "blk.0.ffn_up_exps.weight";
  experts.n_per_row = 2;
  experts.sum_sq = {3.0, 9.0, 5.0, 5.0};
  experts.counts = {3, 0};  // the second expert saw no rows: importance 1 (llama.cpp)
  im.entries = {dense, experts};
  return im;
}

TEST(Importance, MeansPerExpertAndMetadata) {
  const auto data = importance_from_imatrix(sample_imatrix(), "m.imatrix", {});
  EXPECT_EQ(data.file, "m.imatrix");
  EXPECT_EQ(data.dataset, "wiki.txt");
  EXPECT_EQ(data.chunk_count, 7);
  EXPECT_EQ(data.values.at("blk.0.attn_q.weight"), (std::vector<float>{2.0f, 3.0f}));
  EXPECT_EQ(data.values.at("blk.0.ffn_up_exps.weight"),
            (std::vector<float>{1.0f, 3.0f, 1.0f, 1.0f}));
}

TEST(Importance, IncludeAndExcludeBySubstring) {
  ImportanceFilter only_q{.include = {"attn_q"}, .exclude = {}};
  auto data = importance_from_imatrix(sample_imatrix(), "f", only_q);
  EXPECT_EQ(data.values.size(), 1u);
  EXPECT_TRUE(data.values.contains("blk.0.attn_q.weight"));
  ImportanceFilter no_exps{.include = {}, .exclude = {"_exps"}};
  data = importance_from_imatrix(sample_imatrix(), "f", no_exps);
  EXPECT_EQ(data.values.size(), 1u);
  EXPECT_TRUE(data.values.contains("blk.0.attn_q.weight"));
}

// llama-imatrix wrote the same statistics in both formats: the importance must agree.
TEST(ImportanceShared, LegacyAndGgufImatrixAgree) {
  QMIX_REQUIRE_SHARED(shared);
  const auto dir = shared / "gguf/imatrix";
  auto gguf = read_importance(dir / "tiny-qwen3.wiki.imatrix.gguf", {});
  ASSERT_TRUE(gguf.ok()) << gguf.error().message;
  auto dat = read_importance(dir / "tiny-qwen3.wiki.imatrix.dat", {});
  ASSERT_TRUE(dat.ok()) << dat.error().message;
  EXPECT_EQ(gguf->values.size(), 28u) << "4 layers x 7 matrices (quantize.imatrix.entries_count)";
  EXPECT_EQ(gguf->chunk_count, 40);
  EXPECT_EQ(gguf->dataset, "wiki.test.raw");
  ASSERT_EQ(dat->values.size(), gguf->values.size());
  for (const auto& [name, values] : gguf->values) {
    ASSERT_TRUE(dat->values.contains(name)) << name;
    const auto& other = dat->values.at(name);
    ASSERT_EQ(other.size(), values.size()) << name;
    for (size_t i = 0; i < values.size(); ++i)
      EXPECT_NEAR(other[i], values[i], 1e-6f * std::max(1.0f, values[i])) << name << " " << i;
  }
}

}  // namespace
}  // namespace qmix
