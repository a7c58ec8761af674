// `convert` against llama.cpp on the tiny models of ../shared: the BF16 GGUFs its
// convert_hf_to_gguf.py made (../shared/gguf/tiny-*.bf16.gguf) and the Q8_0 files
// llama-quantize made from them (../shared/gguf/quantized/).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "convert/converter.h"
#include "core/fp16.h"
#include "gguf/gguf_file.h"
#include "quant/quantize_rows.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

namespace fs = std::filesystem;

constexpr const char* kModels[] = {"tiny-llama", "tiny-qwen3", "tiny-qwen3moe", "tiny-qwen35"};

// Metadata keys allowed to differ from llama.cpp's, each with the reason. None for these
// models: general.name and general.size_label follow gguf-py's rules (see ModelNaming tests
// for the naming heuristics qmix deliberately leaves out).
const std::vector<std::pair<std::string, std::string>> kDeliberateKeyDifferences = {};

bool may_differ(const std::string& key) {
  for (const auto& [k, reason] : kDeliberateKeyDifferences)
    if (k == key) return true;
  return false;
}

Expected<GgufFile> convert_model_to(const fs::path& model, const fs::path& out,
                                    const std::string& outtype) {
  ConvertOptions o;
  o.outtype = outtype;
  o.threads = 2;
  auto r = convert_model(model, out, o);
  if (!r.ok()) return r.error();
  return GgufFile::open(out);
}

void expect_same_metadata(const GgufFile& ours, const GgufFile& ref) {
  std::vector<std::string> our_keys, ref_keys;
  for (const auto& kv : ours.kvs())
    if (!may_differ(kv.key)) our_keys.push_back(kv.key);
  for (const auto& kv : ref.kvs())
    if (!may_differ(kv.key)) ref_keys.push_back(kv.key);
  EXPECT_EQ(our_keys, ref_keys);
  for (const auto& kv : ref.kvs()) {
    const GgufValue* v = ours.find(kv.key);
    if (v == nullptr || may_differ(kv.key)) continue;
    EXPECT_TRUE(*v == kv.value) << kv.key << ": ours " << v->to_display_string() << ", llama.cpp "
                                << kv.value.to_display_string();
  }
}

// Same tensor names in the same order, same shapes and types, identical bytes.
void expect_same_tensors(const GgufFile& ours, const GgufFile& ref) {
  ASSERT_EQ(ours.tensors().size(), ref.tensors().size());
  for (size_t i = 0; i < ref.tensors().size(); ++i) {
    const GgufTensorInfo& r = ref.tensors()[i];
    const GgufTensorInfo& o = ours.tensors()[i];
    ASSERT_EQ(o.name, r.name) << "tensor " << i;
    EXPECT_EQ(o.shape, r.shape) << r.name;
    EXPECT_EQ(o.type, r.type) << r.name;
    const auto a = ours.tensor_data(o), b = ref.tensor_data(r);
    EXPECT_TRUE(o.type == r.type && std::equal(a.begin(), a.end(), b.begin(), b.end()))
        << r.name << ": data differs";
  }
}

std::vector<float> values_of(const GgufFile& f, const GgufTensorInfo& t) {
  std::vector<float> out(t.n_elements);
  EXPECT_TRUE(
      dequantize_rows(t.quant_type(), f.tensor_data(t), t.n_rows(), t.row_length(), out).ok());
  return out;
}

TEST(ConvertShared, Bf16OutputIsIdenticalToLlamaCpp) {
  QMIX_REQUIRE_SHARED(shared);
  test::TempDir tmp;
  for (const char* model : kModels) {
    SCOPED_TRACE(model);
    const fs::path out = tmp / (std::string(model) + ".gguf");
    auto ours = convert_model_to(shared / "models" / model, out, "bf16");
    ASSERT_TRUE(ours.ok()) << ours.error().message;
    const fs::path ref_path = shared / "gguf" / (std::string(model) + ".bf16.gguf");
    auto ref = GgufFile::open(ref_path);
    ASSERT_TRUE(ref.ok()) << ref.error().message;
    expect_same_metadata(*ours, *ref);
    expect_same_tensors(*ours, *ref);
    // With no deliberate differences the files agree byte for byte, header included.
    if (kDeliberateKeyDifferences.empty()) {
      EXPECT_TRUE(test::read_bytes(out) == test::read_bytes(ref_path));
    }
  }
}

TEST(ConvertShared, AutoOuttypeOfBf16CheckpointsIsBf16) {
  QMIX_REQUIRE_SHARED(shared);
  test::TempDir tmp;
  auto ours = convert_model_to(shared / "models/tiny-qwen3moe", tmp / "auto.gguf", "auto");
  ASSERT_TRUE(ours.ok()) << ours.error().message;
  EXPECT_TRUE(test::read_bytes(tmp / "auto.gguf") ==
              test::read_bytes(shared / "gguf/tiny-qwen3moe.bf16.gguf"));
}

// F32 output carries exactly the reference's values; F16 output their f16 rounding for
// matrices (norms and other F32 tensors unchanged).
TEST(ConvertShared, F32AndF16OutputsCarryTheReferenceValues) {
  QMIX_REQUIRE_SHARED(shared);
  test::TempDir tmp;
  for (const char* model : {"tiny-llama", "tiny-qwen35"}) {
    SCOPED_TRACE(model);
    auto ref = GgufFile::open(shared / "gguf" / (std::string(model) + ".bf16.gguf"));
    ASSERT_TRUE(ref.ok());
    auto f32 = convert_model_to(shared / "models" / model, tmp / "f32.gguf", "f32");
    auto f16 = convert_model_to(shared / "models" / model, tmp / "f16.gguf", "f16");
    ASSERT_TRUE(f32.ok() && f16.ok());
    EXPECT_EQ(*f32->get_int("general.file_type"), 0);
    EXPECT_EQ(*f16->get_int("general.file_type"), 1);
    for (const auto& r : ref->tensors()) {
      const auto expected = values_of(*ref, r);
      const GgufTensorInfo* a = f32->find_tensor(r.name);
      const GgufTensorInfo* b = f16->find_tensor(r.name);
      ASSERT_TRUE(a != nullptr && b != nullptr) << r.name;
      EXPECT_EQ(a->type, GgmlType::F32) << r.name;
      EXPECT_EQ(b->type, r.type == GgmlType::BF16 ? GgmlType::F16 : GgmlType::F32) << r.name;
      EXPECT_EQ(values_of(*f32, *a), expected) << r.name;
      auto rounded = expected;
      if (b->type == GgmlType::F16)
        for (auto& x : rounded) x = fp16_to_fp32(fp32_to_fp16(x));
      EXPECT_EQ(values_of(*f16, *b), rounded) << r.name;
    }
  }
}

// llama-quantize's Q8_0 of the reference BF16 files uses ggml's q8_0 on the same values and
// keeps the same tensors in F32, so `--outtype q8_0` must produce every tensor identically.
TEST(ConvertShared, Q8_0OutputMatchesLlamaQuantize) {
  QMIX_REQUIRE_SHARED(shared);
  test::TempDir tmp;
  for (const char* model : {"tiny-qwen3", "tiny-qwen35"}) {
    SCOPED_TRACE(model);
    auto ours = convert_model_to(shared / "models" / model, tmp / "q8.gguf", "q8_0");
    ASSERT_TRUE(ours.ok()) << ours.error().message;
    auto ref = GgufFile::open(shared / "gguf/quantized" / (std::string(model) + ".Q8_0.gguf"));
    ASSERT_TRUE(ref.ok()) << ref.error().message;
    EXPECT_EQ(*ours->get_int("general.file_type"), *ref->get_int("general.file_type"));
    size_t q8_tensors = 0;
    for (const auto& r : ref->tensors()) {
      const GgufTensorInfo* o = ours->find_tensor(r.name);
      ASSERT_NE(o, nullptr) << r.name;
      EXPECT_EQ(o->shape, r.shape) << r.name;
      EXPECT_EQ(o->type, r.type) << r.name;
      const auto a = ours->tensor_data(*o), b = ref->tensor_data(r);
      EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin(), b.end())) << r.name;
      q8_tensors += r.type == GgmlType::Q8_0 ? 1 : 0;
    }
    EXPECT_GT(q8_tensors, 20u);
    EXPECT_EQ(ours->tensors().size(), ref->tensors().size());
  }
}

}  // namespace
}  // namespace qmix
