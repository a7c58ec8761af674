// GgufSplitWriter: shards by size that GgufModel opens as the model that was written.
#include <gtest/gtest.h>

#include "gguf/gguf_model.h"
#include "gguf/gguf_split_writer.h"
#include "gguf_test_util.h"

namespace qmix {
namespace {

// Declares `n` f32 tensors of 64 values (256 bytes each) plus one metadata key.
void declare(GgufSplitWriter& w, int n) {
  w.set("general.architecture", GgufValue::string("llama"));
  for (int i = 0; i < n; ++i)
    ASSERT_TRUE(w.add_tensor(fmt::format("t{}", i), {64}, GgmlType::F32).ok());
}

std::vector<std::byte> tensor_bytes(int i) {
  return std::vector<std::byte>(256, static_cast<std::byte>(i + 1));
}

TEST(GgufSplitWriter, SplitsBySizeAndReadsBackAsOneModel) {
  test::TempDir dir;
  GgufSplitWriter w(/*max_shard_bytes=*/600);  // two 256-byte tensors per shard
  declare(w, 5);
  ASSERT_TRUE(w.begin(dir / "m.gguf").ok());
  ASSERT_EQ(w.output_paths().size(), 3u);
  EXPECT_EQ(w.output_paths()[2], dir / "m-00003-of-00003.gguf");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(w.write_tensor_data(tensor_bytes(i)).ok());
  EXPECT_FALSE(std::filesystem::exists(w.output_paths()[0]));  // nothing visible before finish
  ASSERT_TRUE(w.finish().ok());

  auto m = GgufModel::open(dir / "m-00001-of-00003.gguf");
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ(m->shards().size(), 3u);
  EXPECT_EQ(m->shards()[2].tensors().size(), 1u);
  EXPECT_EQ(*m->metadata().get_string("general.architecture"), "llama");
  EXPECT_EQ(m->shards()[1].find("general.architecture"), nullptr);  // llama.cpp's layout
  EXPECT_EQ(*m->shards()[1].get_int("split.no"), 1);
  ASSERT_EQ(m->tensors().size(), 5u);
  for (int i = 0; i < 5; ++i) {
    const auto* t = m->find_tensor(fmt::format("t{}", i));
    ASSERT_NE(t, nullptr);
    const auto data = m->tensor_data(*t);
    const auto want = tensor_bytes(i);
    EXPECT_TRUE(std::equal(data.begin(), data.end(), want.begin(), want.end()));
  }
}

TEST(GgufSplitWriter, NoLimitWritesOnePlainFile) {
  test::TempDir dir;
  GgufSplitWriter w;
  declare(w, 3);
  ASSERT_TRUE(w.begin(dir / "one.gguf").ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(w.write_tensor_data(tensor_bytes(i)).ok());
  ASSERT_TRUE(w.finish().ok());
  auto f = GgufFile::open(dir / "one.gguf");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->find("split.count"), nullptr);
  EXPECT_EQ(f->tensors().size(), 3u);
}

TEST(GgufSplitWriter, OversizedTensorGetsItsOwnShard) {
  test::TempDir dir;
  GgufSplitWriter w(/*max_shard_bytes=*/100);
  declare(w, 2);
  ASSERT_TRUE(w.begin(dir / "m.gguf").ok());
  EXPECT_EQ(w.output_paths().size(), 2u);
}

TEST(GgufSplitWriter, IncompleteWriteLeavesNothing) {
  test::TempDir dir;
  {
    GgufSplitWriter w(600);
    declare(w, 5);
    ASSERT_TRUE(w.begin(dir / "m.gguf").ok());
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(w.write_tensor_data(tensor_bytes(i)).ok());
    EXPECT_FALSE(w.finish().ok());
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  {
    GgufSplitWriter w(600);
    declare(w, 5);
    ASSERT_TRUE(w.begin(dir / "m.gguf").ok());
    ASSERT_TRUE(w.write_tensor_data(tensor_bytes(0)).ok());
    // Destroyed mid-way (an error or Ctrl-C in the caller): every temporary goes.
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(GgufSplitWriter, SplitOutputNeedsAGgufName) {
  test::TempDir dir;
  GgufSplitWriter w(300);
  declare(w, 2);
  const Status s = w.begin(dir / "m.bin");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("<prefix>.gguf"), std::string::npos);
}

}  // namespace
}  // namespace qmix
