// Split models: llama.cpp's "<prefix>-NNNNN-of-NNNNN.gguf" naming and the split.* keys.
#include <gtest/gtest.h>

#include "gguf/gguf_model.h"
#include "gguf_test_util.h"

namespace qmix {
namespace {

TEST(GgufSplitName, ParsesLlamaCppNames) {
  const auto s = parse_gguf_split_path("dir/my-model-00002-of-00013.gguf");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->prefix, "dir/my-model");
  EXPECT_EQ(s->shard, 2);
  EXPECT_EQ(s->count, 13);
  EXPECT_EQ(gguf_split_path(s->prefix, s->shard, s->count), "dir/my-model-00002-of-00013.gguf");
}

TEST(GgufSplitName, RejectsOtherNames) {
  for (const char* name : {"model.gguf", "m-0001-of-00002.gguf", "m-00001-of-0002x.gguf",
                           "m-00001_of_00002.gguf", "m-00001-of-00002.bin", "-00001-of-0000.gguf",
                           "m-+0001-of-00002.gguf", "m--0001-of-00002.gguf", ""}) {
    SCOPED_TRACE(name);
    EXPECT_FALSE(parse_gguf_split_path(name).has_value());
  }
  // The prefix may be empty (a file named only by its shard number).
  EXPECT_TRUE(parse_gguf_split_path("-00001-of-00002.gguf").has_value());
}

// Writes shard `no` (1-based) of `count` holding one tensor, with the given split.* values.
void write_shard(const std::string& prefix, int no, int count, int split_no, int tensors_total) {
  GgufWriter w;
  w.set("general.architecture", GgufValue::string("llama"));
  w.set("split.no", GgufValue::u16(static_cast<uint16_t>(split_no)));
  w.set("split.count", GgufValue::u16(static_cast<uint16_t>(count)));
  w.set("split.tensors.count", GgufValue::i32(tensors_total));
  ASSERT_TRUE(w.add_tensor(fmt::format("t{}", no), {32}, GgmlType::F32).ok());
  test::write_to(w, test::random_tensor_data(w, static_cast<uint32_t>(no)),
                 gguf_split_path(prefix, no, count));
}

std::string open_error(const std::filesystem::path& path) {
  auto m = GgufModel::open(path);
  return m.ok() ? std::string("opened") : m.error().message;
}

TEST(GgufModel, SplitShardsMustAgree) {
  test::TempDir dir;
  const std::string prefix = (dir / "m").string();
  write_shard(prefix, 1, 2, 0, 2);
  write_shard(prefix, 2, 2, 0, 2);  // claims to be shard 0 again
  EXPECT_NE(open_error(gguf_split_path(prefix, 1, 2)).find("split.no is 0, expected 1"),
            std::string::npos);
  write_shard(prefix, 2, 2, 1, 2);
  EXPECT_EQ(open_error(gguf_split_path(prefix, 1, 2)), "opened");
  // Opening a later shard is an error that says which one to open.
  EXPECT_NE(open_error(gguf_split_path(prefix, 2, 2)).find("open the first shard"),
            std::string::npos);
  // A tensor count that disagrees with what the shards hold.
  write_shard(prefix, 1, 2, 0, 3);
  EXPECT_NE(open_error(gguf_split_path(prefix, 1, 2)).find("split.tensors.count is 3"),
            std::string::npos);
}

TEST(GgufModel, SplitCountMustMatchTheName) {
  test::TempDir dir;
  const std::string prefix = (dir / "m").string();
  write_shard(prefix, 1, 3, 0, 1);
  // The file says 3 shards; renamed to "-of-00002" its name no longer agrees.
  std::filesystem::rename(gguf_split_path(prefix, 1, 3), gguf_split_path(prefix, 1, 2));
  EXPECT_NE(open_error(gguf_split_path(prefix, 1, 2)).find("split.count is 3"), std::string::npos);
  std::filesystem::rename(gguf_split_path(prefix, 1, 2), dir / "plain.gguf");
  EXPECT_NE(open_error(dir / "plain.gguf").find("name is not"), std::string::npos);
}

}  // namespace
}  // namespace qmix
