#include "gguf/gguf_value.h"

#include <fmt/format.h>

namespace qmix {

std::string_view gguf_value_type_name(GgufValueType t) {
  static constexpr std::string_view kNames[] = {"u8",   "i8",  "u16", "i16", "u32", "i32", "f32",
                                                "bool", "str", "arr", "u64", "i64", "f64"};
  const auto i = static_cast<uint32_t>(t);
  return i < std::size(kNames) ? kNames[i] : std::string_view("?");
}

size_t gguf_scalar_size(GgufValueType t) {
  static constexpr size_t kSizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
  const auto i = static_cast<uint32_t>(t);
  return i < std::size(kSizes) ? kSizes[i] : 0;
}

bool gguf_value_type_valid(uint32_t raw) { return raw <= 12; }

GgufValue GgufValue::string(std::string v) {
  GgufValue out;
  out.type_ = GgufValueType::kString;
  out.string_ = std::move(v);
  return out;
}

GgufValue GgufValue::array_raw(GgufValueType element_type, uint64_t count,
                               std::vector<std::byte> raw) {
  GgufValue out;
  out.type_ = GgufValueType::kArray;
  out.array_type_ = element_type;
  out.array_count_ = count;
  out.array_raw_ = std::move(raw);
  return out;
}

GgufValue GgufValue::array_strings(std::vector<std::string> values) {
  GgufValue out;
  out.type_ = GgufValueType::kArray;
  out.array_type_ = GgufValueType::kString;
  out.array_count_ = values.size();
  out.array_strings_ = std::move(values);
  return out;
}

namespace {
template <class T>
std::vector<std::byte> to_raw(const std::vector<T>& v) {
  std::vector<std::byte> raw(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(raw.data(), v.data(), raw.size());
  return raw;
}
}  // namespace

GgufValue GgufValue::array_i32(const std::vector<int32_t>& v) {
  return array_raw(GgufValueType::kInt32, v.size(), to_raw(v));
}
GgufValue GgufValue::array_u32(const std::vector<uint32_t>& v) {
  return array_raw(GgufValueType::kUint32, v.size(), to_raw(v));
}
GgufValue GgufValue::array_f32(const std::vector<float>& v) {
  return array_raw(GgufValueType::kFloat32, v.size(), to_raw(v));
}
GgufValue GgufValue::array_bool(const std::vector<bool>& v) {
  std::vector<uint8_t> bytes(v.begin(), v.end());
  return array_raw(GgufValueType::kBool, v.size(), to_raw(bytes));
}

std::optional<int64_t> GgufValue::as_int() const {
  switch (type_) {
    case GgufValueType::kUint8:
      return scalar_as<uint8_t>();
    case GgufValueType::kInt8:
      return scalar_as<int8_t>();
    case GgufValueType::kUint16:
      return scalar_as<uint16_t>();
    case GgufValueType::kInt16:
      return scalar_as<int16_t>();
    case GgufValueType::kUint32:
      return scalar_as<uint32_t>();
    case GgufValueType::kInt32:
      return scalar_as<int32_t>();
    case GgufValueType::kBool:
      return scalar_as<uint8_t>() != 0;
    case GgufValueType::kInt64:
      return scalar_as<int64_t>();
    case GgufValueType::kUint64: {
      const auto v = scalar_as<uint64_t>();
      if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
      return static_cast<int64_t>(v);
    }
    default:
      return std::nullopt;
  }
}

std::optional<uint64_t> GgufValue::as_uint() const {
  if (type_ == GgufValueType::kUint64) return scalar_as<uint64_t>();
  const auto v = as_int();
  if (!v || *v < 0) return std::nullopt;
  return static_cast<uint64_t>(*v);
}

std::optional<double> GgufValue::as_float() const {
  if (type_ == GgufValueType::kFloat32) return scalar_as<float>();
  if (type_ == GgufValueType::kFloat64) return scalar_as<double>();
  if (type_ == GgufValueType::kBool) return std::nullopt;
  if (type_ == GgufValueType::kUint64) return static_cast<double>(scalar_as<uint64_t>());
  const auto v = as_int();
  if (v) return static_cast<double>(*v);
  return std::nullopt;
}

std::optional<bool> GgufValue::as_bool() const {
  if (type_ != GgufValueType::kBool) return std::nullopt;
  return scalar_as<uint8_t>() != 0;
}

const std::string* GgufValue::as_string() const {
  return type_ == GgufValueType::kString ? &string_ : nullptr;
}

const std::vector<std::string>* GgufValue::as_string_array() const {
  return (is_array() && array_type_ == GgufValueType::kString) ? &array_strings_ : nullptr;
}

std::optional<int64_t> GgufValue::element_as_int(size_t i) const {
  const size_t sz = gguf_scalar_size(array_type_);
  GgufValue tmp;
  tmp.type_ = array_type_;
  std::memcpy(tmp.scalar_, array_raw_.data() + i * sz, sz);
  return tmp.as_int();
}

std::optional<std::vector<int64_t>> GgufValue::as_int_array() const {
  if (!is_array() || array_type_ == GgufValueType::kString ||
      array_type_ == GgufValueType::kFloat32 || array_type_ == GgufValueType::kFloat64)
    return std::nullopt;
  std::vector<int64_t> out(array_count_);
  for (size_t i = 0; i < out.size(); ++i) {
    const auto v = element_as_int(i);
    if (!v) return std::nullopt;
    out[i] = *v;
  }
  return out;
}

std::optional<std::vector<float>> GgufValue::as_float_array() const {
  if (!is_array() || array_type_ == GgufValueType::kString) return std::nullopt;
  std::vector<float> out(array_count_);
  const size_t sz = gguf_scalar_size(array_type_);
  for (size_t i = 0; i < out.size(); ++i) {
    GgufValue tmp;
    tmp.type_ = array_type_;
    std::memcpy(tmp.scalar_, array_raw_.data() + i * sz, sz);
    const auto v = tmp.as_float();
    if (!v) return std::nullopt;
    out[i] = static_cast<float>(*v);
  }
  return out;
}

GgufValue GgufValue::array_element(size_t i) const {
  QMIX_CHECK(is_array() && i < array_count_);
  if (array_type_ == GgufValueType::kString) return string(array_strings_[i]);
  const size_t sz = gguf_scalar_size(array_type_);
  GgufValue out;
  out.type_ = array_type_;
  std::memcpy(out.scalar_, array_raw_.data() + i * sz, sz);
  return out;
}

namespace {

// Quoted, with control characters escaped so that any value stays on one line.
std::string quoted_for_display(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  return out + '"';
}

}  // namespace

std::string GgufValue::to_display_string(size_t max_items) const {
  if (type_ == GgufValueType::kString) return quoted_for_display(string_);
  if (type_ == GgufValueType::kBool) return *as_bool() ? "true" : "false";
  // Shortest round-trip form of the stored precision ("1e-06", not 9.99999997e-07).
  if (type_ == GgufValueType::kFloat32) return fmt::format("{}", scalar_as<float>());
  if (type_ == GgufValueType::kFloat64) return fmt::format("{}", scalar_as<double>());
  if (!is_array()) {
    if (type_ == GgufValueType::kUint64) return fmt::format("{}", scalar_as<uint64_t>());
    return fmt::format("{}", *as_int());
  }
  std::string out = "[";
  const size_t n = std::min<uint64_t>(array_count_, max_items);
  for (size_t i = 0; i < n; ++i) {
    if (i) out += ", ";
    out += array_element(i).to_display_string();
  }
  if (array_count_ > n)
    out += fmt::format(", … ({} {} items)", array_count_, gguf_value_type_name(array_type_));
  return out + "]";
}

bool GgufValue::operator==(const GgufValue& o) const {
  if (type_ != o.type_) return false;
  if (type_ == GgufValueType::kString) return string_ == o.string_;
  if (is_array())
    return array_type_ == o.array_type_ && array_count_ == o.array_count_ &&
           array_raw_ == o.array_raw_ && array_strings_ == o.array_strings_;
  return std::memcmp(scalar_, o.scalar_, gguf_scalar_size(type_)) == 0;
}

}  // namespace qmix
