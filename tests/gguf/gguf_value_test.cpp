// GgufValue rendering and element access.
#include <gtest/gtest.h>

#include "gguf/gguf_value.h"

namespace qmix {
namespace {

TEST(GgufValueDisplay, StringsStayOnOneLine) {
  EXPECT_EQ(GgufValue::string("a\nb\t\"c\"\\\x1b").to_display_string(), R"("a\nb\t\"c\"\\\x1b")");
}

TEST(GgufValueDisplay, FloatsUseTheirStoredPrecision) {
  EXPECT_EQ(GgufValue::f32(1e-6f).to_display_string(), "1e-06");
  EXPECT_EQ(GgufValue::f64(0.1).to_display_string(), "0.1");
  EXPECT_EQ(GgufValue::u64(UINT64_MAX).to_display_string(), "18446744073709551615");
}

TEST(GgufValueDisplay, LongArraysAreCut) {
  EXPECT_EQ(GgufValue::array_i32({1, 2, 3}).to_display_string(2), "[1, 2, … (3 i32 items)]");
  EXPECT_EQ(GgufValue::array_strings({"x\ny"}).to_display_string(), R"(["x\ny"])");
}

TEST(GgufValue, ArrayElementsAreScalars) {
  const auto ints = GgufValue::array_u32({7, 4000000000u});
  EXPECT_EQ(ints.array_element(1).type(), GgufValueType::kUint32);
  EXPECT_EQ(*ints.array_element(1).as_uint(), 4000000000u);
  const auto strs = GgufValue::array_strings({"a", "b"});
  EXPECT_EQ(*strs.array_element(1).as_string(), "b");
  const auto floats = GgufValue::array_f32({0.5f});
  EXPECT_EQ(*floats.array_element(0).as_float(), 0.5);
}

}  // namespace
}  // namespace qmix
