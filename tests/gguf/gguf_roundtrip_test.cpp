#include <gtest/gtest.h>

#include "gguf/gguf_file.h"
#include "gguf/gguf_model.h"
#include "gguf/gguf_test_util.h"

namespace qmix {
namespace {

TEST(GgufRoundTrip, WriteReadWriteIsIdentical) {
  test::TempDir dir;
  GgufWriter w = test::sample_writer();
  const auto data = test::random_tensor_data(w, 1);
  const auto bytes = test::write_to(w, data, dir / "a.gguf");
  EXPECT_EQ(bytes.size(), w.file_size());

  auto f = GgufFile::open(dir / "a.gguf");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->kvs().size(), w.kvs().size());
  EXPECT_EQ(*f->get_string("general.architecture"), "llama");
  EXPECT_EQ(*f->get_int("llama.block_count"), 2);
  EXPECT_EQ(*f->get_int("test.i64"), -5);
  EXPECT_FLOAT_EQ(static_cast<float>(*f->get_float("llama.rope.freq_base")), 10000.0f);
  EXPECT_EQ(f->find("tokenizer.ggml.tokens")->as_string_array()->at(2), "<s>");
  ASSERT_EQ(f->tensors().size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const auto span = f->tensor_data(f->tensors()[i]);
    ASSERT_EQ(span.size(), data[i].size());
    EXPECT_TRUE(std::equal(span.begin(), span.end(), data[i].begin()));
  }
  EXPECT_EQ(f->tensors()[2].shape, (std::vector<int64_t>{64, 2}));

  // Read → write → read gives identical bytes.
  GgufWriter w2;
  w2.copy_metadata_from(*f);
  for (const auto& t : f->tensors()) ASSERT_TRUE(w2.add_tensor(t.name, t.shape, t.type).ok());
  ASSERT_TRUE(w2.begin(dir / "b.gguf").ok());
  for (const auto& t : f->tensors()) ASSERT_TRUE(w2.write_tensor_data(f->tensor_data(t)).ok());
  ASSERT_TRUE(w2.finish().ok());
  EXPECT_EQ(test::read_bytes(dir / "b.gguf"), bytes);
}

TEST(GgufRoundTrip, TensorsWrittenInPartsEqualWholeWrites) {
  test::TempDir dir;
  GgufWriter whole = test::sample_writer();
  const auto data = test::random_tensor_data(whole, 3);
  const auto expected = test::write_to(whole, data, dir / "whole.gguf");
  GgufWriter parts = test::sample_writer();
  ASSERT_TRUE(parts.begin(dir / "parts.gguf").ok());
  for (const auto& d : data) {
    const std::span<const std::byte> all(d);
    for (size_t at = 0; at < all.size(); at += 7)
      ASSERT_TRUE(
          parts.write_tensor_part(all.subspan(at, std::min<size_t>(7, all.size() - at))).ok());
  }
  ASSERT_TRUE(parts.finish().ok());
  EXPECT_EQ(test::read_bytes(dir / "parts.gguf"), expected);
  // A part may not run past the tensor it belongs to.
  GgufWriter over = test::sample_writer();
  ASSERT_TRUE(over.begin(dir / "over.gguf").ok());
  const std::vector<std::byte> too_long(data[0].size() + 1);
  EXPECT_FALSE(over.write_tensor_part(too_long).ok());
}

TEST(GgufRoundTrip, RandomizedFilesRoundTrip) {
  std::mt19937 rng(7);
  test::TempDir dir;
  const GgmlType types[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16,    GgmlType::Q4_0,
                            GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::IQ2_XXS, GgmlType::I32};
  for (int iter = 0; iter < 20; ++iter) {
    GgufWriter w(iter % 2 ? 32 : 64);
    const int n_kv = static_cast<int>(rng() % 6);
    for (int k = 0; k < n_kv; ++k) w.set(fmt::format("k{}", k), GgufValue::u64(rng()));
    const int n_t = static_cast<int>(rng() % 5);
    for (int t = 0; t < n_t; ++t) {
      const GgmlType type = types[rng() % std::size(types)];
      const int64_t bs = quant_type(type).block_size;
      std::vector<int64_t> shape{bs * static_cast<int64_t>(1 + rng() % 3)};
      for (uint32_t d = 0; d < rng() % 3; ++d) shape.push_back(static_cast<int64_t>(1 + rng() % 3));
      ASSERT_TRUE(w.add_tensor(fmt::format("t{}", t), shape, type).ok());
    }
    const auto data = test::random_tensor_data(w, static_cast<uint32_t>(iter));
    const auto path = dir / fmt::format("r{}.gguf", iter);
    const auto bytes = test::write_to(w, data, path);
    auto f = GgufFile::open(path);
    ASSERT_TRUE(f.ok()) << f.error().message;
    ASSERT_EQ(f->tensors().size(), data.size());
    for (size_t i = 0; i < data.size(); ++i) {
      const auto s = f->tensor_data(f->tensors()[i]);
      EXPECT_TRUE(std::equal(s.begin(), s.end(), data[i].begin(), data[i].end()));
    }
  }
}

TEST(GgufWriterErrors, RejectsBadTensorsAndLeavesNoFile) {
  GgufWriter w;
  EXPECT_FALSE(w.add_tensor("x", {33}, GgmlType::Q4_0).ok());  // not a block multiple
  EXPECT_FALSE(w.add_tensor("x", {1, 1, 1, 1, 1}, GgmlType::F32).ok());
  ASSERT_TRUE(w.add_tensor("x", {32}, GgmlType::F32).ok());
  EXPECT_FALSE(w.add_tensor("x", {32}, GgmlType::F32).ok());  // duplicate
  test::TempDir dir;
  {
    GgufWriter w2 = test::sample_writer();
    ASSERT_TRUE(w2.begin(dir / "partial.gguf").ok());
    const std::vector<std::byte> wrong(3);
    EXPECT_FALSE(w2.write_tensor_data(wrong).ok());
    EXPECT_FALSE(w2.finish().ok());
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(GgufModel, SplitModelOpensAsOne) {
  test::TempDir dir;
  const std::string prefix = (dir / "m").string();
  for (int s = 1; s <= 2; ++s) {
    GgufWriter w;
    w.set("general.architecture", GgufValue::string("llama"));
    w.set("split.no", GgufValue::u16(static_cast<uint16_t>(s - 1)));
    w.set("split.count", GgufValue::u16(2));
    w.set("split.tensors.count", GgufValue::i32(2));
    ASSERT_TRUE(w.add_tensor(fmt::format("t{}", s), {32}, GgmlType::F32).ok());
    test::write_to(w, test::random_tensor_data(w, static_cast<uint32_t>(s)),
                   gguf_split_path(prefix, s, 2));
  }
  auto m = GgufModel::open(gguf_split_path(prefix, 1, 2));
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->shards().size(), 2u);
  ASSERT_EQ(m->tensors().size(), 2u);
  EXPECT_NE(m->find_tensor("t2"), nullptr);
  std::filesystem::remove(gguf_split_path(prefix, 2, 2));
  auto missing = GgufModel::open(gguf_split_path(prefix, 1, 2));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("shard 2 of 2"), std::string::npos);
}

}  // namespace
}  // namespace qmix
