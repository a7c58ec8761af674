#include <gtest/gtest.h>

#include "core/byte_size.h"

namespace qmix {
namespace {

TEST(ByteSize, ParsesDecimalAndBinaryUnits) {
  EXPECT_EQ(*parse_byte_size("4096"), 4096u);
  EXPECT_EQ(*parse_byte_size("4096B"), 4096u);
  EXPECT_EQ(*parse_byte_size("500M"), 500000000u);
  EXPECT_EQ(*parse_byte_size("500MB"), 500000000u);
  EXPECT_EQ(*parse_byte_size("1.5G"), 1500000000u);
  EXPECT_EQ(*parse_byte_size("2GiB"), uint64_t{2} << 30);
  EXPECT_EQ(*parse_byte_size("64KiB"), 65536u);
  EXPECT_EQ(*parse_byte_size("1T"), 1000000000000u);
}

TEST(ByteSize, RejectsNonSizes) {
  for (const char* bad : {"", "G", "-1G", "1.5X", "12 M", "nan", "inf", "1e30T", "0x10", "1GiBB"}) {
    SCOPED_TRACE(bad);
    const auto r = parse_byte_size(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("is not a size"), std::string::npos);
  }
}

TEST(ByteSize, FormatsBinaryUnits) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(3ull << 30), "3.00 GiB");
  EXPECT_EQ(format_bytes(1536), "1.50 KiB");
}

}  // namespace
}  // namespace qmix
