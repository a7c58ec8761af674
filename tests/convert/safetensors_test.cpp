// The safetensors reader: dtypes, offsets, and hostile headers (every malformed file is an
// error naming the file and tensor, never a crash or an out-of-bounds read).
#include <gtest/gtest.h>

#include <random>

#include "convert/convert_fixtures.h"
#include "convert/safetensors.h"

namespace qmix {
namespace {

using test::FakeTensor;

std::vector<std::byte> with_header(const std::string& header, size_t data_bytes) {
  std::vector<std::byte> out(8);
  const uint64_t len = header.size();
  std::memcpy(out.data(), &len, 8);
  for (char c : header) out.push_back(static_cast<std::byte>(c));
  out.resize(out.size() + data_bytes);
  return out;
}

Expected<SafetensorsFile> parse_header(const std::string& header, size_t data_bytes) {
  static std::vector<std::byte> keep;  // the parsed file refers to these bytes
  keep = with_header(header, data_bytes);
  return SafetensorsFile::parse(keep, "bad.safetensors");
}

TEST(Safetensors, ReadsEveryDtypeInHeaderOrder) {
  const std::vector<FakeTensor> tensors = {
      {"z.first", "BF16", {2, 3}, {1, -2, 0.5f, 3, 4, -0.25f}},
      {"a.second", "F32", {4}, {1.5f, -7, 1e-3f, 65504}},
      {"m.third", "F16", {1, 2}, {-0.5f, 2048}},
  };
  const auto bytes = test::safetensors_bytes(tensors);
  auto file = SafetensorsFile::parse(bytes, "ok.safetensors");
  ASSERT_TRUE(file.ok()) << file.error().message;
  ASSERT_EQ(file->tensors().size(), 3u);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const SafetensorsTensor& t = file->tensors()[i];
    EXPECT_EQ(t.name, tensors[i].name);
    EXPECT_EQ(t.dtype->name, tensors[i].dtype);
    EXPECT_EQ(t.shape, tensors[i].shape);
    std::vector<float> decoded(t.n_elements);
    t.dtype->to_f32(t.data.data(), decoded.data(), static_cast<int64_t>(t.n_elements));
    EXPECT_EQ(decoded, tensors[i].values) << t.name;
  }
  EXPECT_NE(file->find("a.second"), nullptr);
  EXPECT_EQ(file->find("missing"), nullptr);
}

TEST(Safetensors, RejectsTruncatedFiles) {
  const auto bytes = test::safetensors_bytes({{"w", "F32", {4}, {1, 2, 3, 4}}});
  for (size_t cut : {size_t{0}, size_t{5}, size_t{8}, size_t{20}, bytes.size() - 1}) {
    const std::span<const std::byte> prefix(bytes.data(), cut);
    auto file = SafetensorsFile::parse(prefix, "cut.safetensors");
    EXPECT_FALSE(file.ok()) << "cut at " << cut;
    if (!file.ok()) {
      EXPECT_NE(file.error().message.find("cut.safetensors"), std::string::npos);
    }
  }
}

TEST(Safetensors, RejectsMalformedHeaders) {
  struct Case {
    std::string header;
    size_t data;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {"not json", 0, "not a JSON object"},
      {"[1, 2]", 0, "not a JSON object"},
      {R"({"w": 3})", 0, "not an object"},
      {R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", 4, "missing dtype"},
      {R"({"w": {"dtype": "I8", "shape": [4], "data_offsets": [0, 4]}})", 4, "unsupported dtype"},
      {R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4, "shape"},
      {R"({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", 4, "shape"},
      {R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", 4, "shape"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})", 8, "need 8"},
      {R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}})", 8, "outside"},
      {R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", 4, "outside"},
      {R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", 4, "data_offsets"},
      {R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 16], "data_offsets": [0, 4]}})",
       4, "overflow"},
      {R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
           "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
       12, "overlap"},
  };
  for (const auto& c : cases) {
    auto file = parse_header(c.header, c.data);
    ASSERT_FALSE(file.ok()) << c.header;
    EXPECT_NE(file.error().message.find(c.expect), std::string::npos)
        << c.header << " -> " << file.error().message;
  }
}

TEST(Safetensors, RejectsHeaderLengthBeyondFileOrLimit) {
  std::vector<std::byte> bytes(64);
  uint64_t len = 1000;
  std::memcpy(bytes.data(), &len, 8);
  EXPECT_FALSE(SafetensorsFile::parse(bytes, "x").ok());
  len = ~uint64_t{0};
  std::memcpy(bytes.data(), &len, 8);
  EXPECT_FALSE(SafetensorsFile::parse(bytes, "x").ok());
}

TEST(Safetensors, EmptyTensorsAndMetadataAreFine) {
  auto file = parse_header(
      R"({"__metadata__": {"format": "pt"}, "e": {"dtype": "BF16", "shape": [0, 4],
          "data_offsets": [0, 0]}, "w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}})",
      4);
  ASSERT_TRUE(file.ok()) << file.error().message;
  EXPECT_EQ(file->tensors().size(), 2u);
  EXPECT_EQ(file->find("e")->n_elements, 0u);
}

// Random corruption of a valid file must give a clean result either way.
TEST(Safetensors, SurvivesRandomCorruption) {
  const auto good = test::safetensors_bytes(
      {{"w", "BF16", {4, 8}, test::coded_values(32)}, {"n", "F32", {8}, test::coded_values(8)}});
  std::mt19937 rng(7);
  for (int iter = 0; iter < 3000; ++iter) {
    auto bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f)
      bytes[rng() % bytes.size()] = static_cast<std::byte>(rng() & 0xff);
    if (rng() % 5 == 0) bytes.resize(rng() % bytes.size());
    auto file = SafetensorsFile::parse(bytes, "fuzz");
    if (!file.ok()) continue;
    for (const auto& t : file->tensors()) {
      ASSERT_LE(t.file_offset + t.data.size(), bytes.size());
      std::vector<float> out(t.n_elements);
      t.dtype->to_f32(t.data.data(), out.data(), static_cast<int64_t>(t.n_elements));
    }
  }
}

TEST(Safetensors, OpenReportsMissingFile) {
  auto file = SafetensorsFile::open("/nonexistent/model.safetensors");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace qmix
