// Hostile input: every truncation, flipped fields and absurd counts must give errors, never
// crashes or huge allocations.
#include <gtest/gtest.h>

#include <cstring>

#include "gguf/gguf_file.h"
#include "gguf/gguf_test_util.h"

namespace qmix {
namespace {

std::vector<std::byte> sample_bytes() {
  test::TempDir dir;
  GgufWriter w = test::sample_writer();
  return test::write_to(w, test::random_tensor_data(w, 3), dir / "s.gguf");
}

Expected<GgufFile> parse(const std::vector<std::byte>& b) { return GgufFile::parse(b, "t.gguf"); }

TEST(GgufCorrupt, EveryTruncationIsAnError) {
  const auto full = sample_bytes();
  auto whole = parse(full);
  ASSERT_TRUE(whole.ok());
  // Cutting only the alignment padding after the last tensor leaves a complete file.
  const auto& last = whole->tensors().back();
  const size_t data_end = whole->data_offset() + last.offset + last.n_bytes;
  for (size_t n = 0; n < data_end; ++n) {
    std::vector<std::byte> cut(full.begin(), full.begin() + static_cast<ptrdiff_t>(n));
    auto f = parse(cut);
    EXPECT_FALSE(f.ok()) << "truncated at " << n;
    if (!f.ok()) {
      EXPECT_EQ(f.error().message.rfind("t.gguf", 0), 0u);
    }
  }
}

TEST(GgufCorrupt, FlippedBytesNeverCrash) {
  const auto full = sample_bytes();
  std::mt19937 rng(11);
  for (int i = 0; i < 4000; ++i) {
    auto b = full;
    const size_t header = 400;  // focus on the header where the structure lives
    const size_t pos = rng() % std::min(header, b.size());
    b[pos] = static_cast<std::byte>(rng() & 0xff);
    auto f = parse(b);  // ok or error; must not crash or hang
    (void)f;
  }
}

void put_u64(std::vector<std::byte>& b, size_t at, uint64_t v) {
  std::memcpy(b.data() + at, &v, 8);
}

TEST(GgufCorrupt, AbsurdCountsAndSizes) {
  const auto full = sample_bytes();
  auto b = full;
  put_u64(b, 8, UINT64_MAX);  // tensor count
  EXPECT_NE(parse(b).error().message.find("tensor count"), std::string::npos);
  b = full;
  put_u64(b, 16, uint64_t{1} << 60);  // kv count
  EXPECT_NE(parse(b).error().message.find("metadata count"), std::string::npos);
  b = full;
  put_u64(b, 24, uint64_t{1} << 62);  // first key length
  EXPECT_NE(parse(b).error().message.find("exceeds the file"), std::string::npos);
}

TEST(GgufCorrupt, BadMagicVersionAndEndianness) {
  auto b = sample_bytes();
  b[0] = std::byte{'X'};
  EXPECT_NE(parse(b).error().message.find("bad magic"), std::string::npos);
  b = sample_bytes();
  const uint32_t be3 = 0x03000000u;
  std::memcpy(b.data() + 4, &be3, 4);
  auto f = parse(b);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().message.find("big-endian GGUF not supported"), std::string::npos);
  const uint32_t v9 = 9;
  std::memcpy(b.data() + 4, &v9, 4);
  EXPECT_EQ(parse(b).error().code, ErrorCode::kUnsupported);
}

TEST(GgufCorrupt, TensorChecks) {
  GgufWriter w;
  ASSERT_TRUE(w.add_tensor("a", {32}, GgmlType::F32).ok());
  ASSERT_TRUE(w.add_tensor("b", {32}, GgmlType::F32).ok());
  test::TempDir dir;
  auto bytes = test::write_to(w, test::random_tensor_data(w, 1), dir / "t.gguf");
  const auto header = w.header_bytes();
  auto find = [&](std::string_view name) {
    const auto it =
        std::search(bytes.begin(), bytes.end(), reinterpret_cast<const std::byte*>(name.data()),
                    reinterpret_cast<const std::byte*>(name.data()) + name.size());
    return static_cast<size_t>(it - bytes.begin());
  };
  // Tensor "b" info: name(8+1) n_dims(4) dim(8) type(4) offset(8). Point its offset at "a".
  const size_t b_info = find(std::string_view("\x01\0\0\0\0\0\0\0b", 9)) + 9;
  auto overlap = bytes;
  put_u64(overlap, b_info + 4 + 8 + 4, 0);
  EXPECT_NE(parse(overlap).error().message.find("overlap"), std::string::npos);
  auto outside = bytes;
  put_u64(outside, b_info + 4 + 8 + 4, 1 << 20);
  EXPECT_NE(parse(outside).error().message.find("outside the file"), std::string::npos);
  auto misaligned = bytes;
  put_u64(misaligned, b_info + 4 + 8 + 4, 129);
  EXPECT_NE(parse(misaligned).error().message.find("not aligned"), std::string::npos);
  auto bad_type = bytes;
  const uint32_t t99 = 99;
  std::memcpy(bad_type.data() + b_info + 4 + 8, &t99, 4);
  auto f = parse(bad_type);
  EXPECT_NE(f.error().message.find("tensor 'b': unknown ggml type id 99"), std::string::npos);
  auto dims = bytes;
  const uint32_t d5 = 5;
  std::memcpy(dims.data() + b_info, &d5, 4);
  EXPECT_NE(parse(dims).error().message.find("dimensions"), std::string::npos);
  auto dup = bytes;
  dup[b_info - 1] = std::byte{'a'};
  EXPECT_NE(parse(dup).error().message.find("duplicate tensor name 'a'"), std::string::npos);
  (void)header;
}

TEST(GgufCorrupt, DuplicateKeysAndBadAlignment) {
  GgufWriter w;
  w.set("k1", GgufValue::u32(1));
  w.set("k2", GgufValue::u32(2));
  auto b = w.header_bytes();
  const auto it = std::search(b.begin(), b.end(), reinterpret_cast<const std::byte*>("k2"),
                              reinterpret_cast<const std::byte*>("k2") + 2);
  it[1] = std::byte{'1'};
  EXPECT_NE(parse(b).error().message.find("duplicate metadata key 'k1'"), std::string::npos);
  GgufWriter w2;
  w2.set("general.alignment", GgufValue::u32(48));
  EXPECT_NE(parse(w2.header_bytes()).error().message.find("power of two"), std::string::npos);
}

}  // namespace
}  // namespace qmix
