#include "core/units.h"

#include <gtest/gtest.h>

namespace qmix {
namespace {

TEST(Units, ParsesBinaryAndDecimalSizes) {
  EXPECT_EQ(*parse_byte_size("24GiB"), 24ull << 30);
  EXPECT_EQ(*parse_byte_size("24 gib"), 24ull << 30);
  EXPECT_EQ(*parse_byte_size("24G"), 24ull << 30);
  EXPECT_EQ(*parse_byte_size("24GB"), 24000000000ull);
  EXPECT_EQ(*parse_byte_size("1.5M"), 1572864ull);
  EXPECT_EQ(*parse_byte_size("4096"), 4096ull);
}

TEST(Units, RejectsNonsense) {
  for (const char* bad : {"", "GiB", "-1G", "12 parsecs", "1e30"}) {
    EXPECT_FALSE(parse_byte_size(bad).ok()) << bad;
  }
}

TEST(Units, FormatsBytes) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(3ull << 30), "3.00 GiB");
}

}  // namespace
}  // namespace qmix
