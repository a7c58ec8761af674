// GGUF metadata values: scalars, strings and (typed, non-nested) arrays.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace qmix {

enum class GgufValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

std::string_view gguf_value_type_name(GgufValueType t);
// Size in bytes of a fixed-size scalar type; 0 for string/array/unknown.
size_t gguf_scalar_size(GgufValueType t);
bool gguf_value_type_valid(uint32_t raw);

class GgufValue {
 public:
  GgufValue() = default;

  // Scalars.
  static GgufValue u8(uint8_t v) { return scalar(GgufValueType::kUint8, v); }
  static GgufValue i8(int8_t v) { return scalar(GgufValueType::kInt8, v); }
  static GgufValue u16(uint16_t v) { return scalar(GgufValueType::kUint16, v); }
  static GgufValue i16(int16_t v) { return scalar(GgufValueType::kInt16, v); }
  static GgufValue u32(uint32_t v) { return scalar(GgufValueType::kUint32, v); }
  static GgufValue i32(int32_t v) { return scalar(GgufValueType::kInt32, v); }
  static GgufValue u64(uint64_t v) { return scalar(GgufValueType::kUint64, v); }
  static GgufValue i64(int64_t v) { return scalar(GgufValueType::kInt64, v); }
  static GgufValue f32(float v) { return scalar(GgufValueType::kFloat32, v); }
  static GgufValue f64(double v) { return scalar(GgufValueType::kFloat64, v); }
  static GgufValue boolean(bool v) { return scalar(GgufValueType::kBool, static_cast<uint8_t>(v)); }
  static GgufValue string(std::string v);

  // Arrays of fixed-size elements are kept as raw little-endian bytes.
  static GgufValue array_raw(GgufValueType element_type, uint64_t count,
                             std::vector<std::byte> raw);
  static GgufValue array_strings(std::vector<std::string> values);
  static GgufValue array_i32(const std::vector<int32_t>& values);
  static GgufValue array_u32(const std::vector<uint32_t>& values);
  static GgufValue array_f32(const std::vector<float>& values);
  static GgufValue array_bool(const std::vector<bool>& values);

  GgufValueType type() const { return type_; }
  bool is_array() const { return type_ == GgufValueType::kArray; }
  GgufValueType array_type() const { return array_type_; }
  uint64_t array_size() const { return array_count_; }

  // Conversions; nullopt when the value is not of a compatible kind.
  std::optional<int64_t> as_int() const;    // any integer or bool scalar that fits
  std::optional<uint64_t> as_uint() const;  // non-negative integer scalar
  std::optional<double> as_float() const;   // float or integer scalar
  std::optional<bool> as_bool() const;
  const std::string* as_string() const;
  // Array element access (numeric arrays, converted); nullopt for wrong types.
  std::optional<std::vector<int64_t>> as_int_array() const;
  std::optional<std::vector<float>> as_float_array() const;
  const std::vector<std::string>* as_string_array() const;
  std::span<const std::byte> raw_array_bytes() const { return array_raw_; }
  // Element i of an array as a scalar (or string) value; i must be < array_size().
  GgufValue array_element(size_t i) const;

  // Raw little-endian bytes of a fixed-size scalar (for the writer).
  std::span<const std::byte> scalar_bytes() const { return {scalar_, gguf_scalar_size(type_)}; }

  // One-line human-readable rendering: strings quoted with control characters escaped
  // ("\n", "\x1b"), arrays cut after `max_array_items` with their length ("… (4096 str items)").
  std::string to_display_string(size_t max_array_items = 8) const;

  bool operator==(const GgufValue& other) const;

 private:
  template <class T>
  static GgufValue scalar(GgufValueType t, T v) {
    GgufValue out;
    out.type_ = t;
    std::memcpy(out.scalar_, &v, sizeof(T));
    return out;
  }
  template <class T>
  T scalar_as() const {
    T v;
    std::memcpy(&v, scalar_, sizeof(T));
    return v;
  }
  std::optional<int64_t> element_as_int(size_t i) const;

  GgufValueType type_ = GgufValueType::kUint8;
  std::byte scalar_[8] = {};
  std::string string_;
  GgufValueType array_type_ = GgufValueType::kUint8;
  uint64_t array_count_ = 0;
  std::vector<std::byte> array_raw_;
  std::vector<std::string> array_strings_;
};

struct GgufKv {
  std::string key;
  GgufValue value;
};

}  // namespace qmix
