// `qmix quantize --ggml-reference` against files llama-quantize wrote
// (../shared/gguf/quantized/<model>.<preset>.gguf, made from <model>.bf16.gguf with
// --imatrix <model>.wiki.imatrix.gguf): the whole file must be byte-identical — metadata, tensor
// order, types and every quantized block. Presets whose types have no kernel in this build yet
// are skipped (they pass once the kernels land).
#include <gtest/gtest.h>

#include "gguf/gguf_file.h"
#include "gguf/gguf_model.h"
#include "recipe/presets.h"
#include "recipe/tensor_plan.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

struct Reference {
  const char* model;
  const char* preset;
};

constexpr Reference kReferences[] = {
    {"tiny-qwen3", "Q8_0"},    {"tiny-qwen3", "IQ4_XS"},  {"tiny-qwen3", "Q4_K_M"},
    {"tiny-qwen3", "Q2_K"},    {"tiny-qwen3", "IQ2_XXS"}, {"tiny-qwen35", "Q8_0"},
    {"tiny-qwen35", "Q4_K_M"},
};

// The types of the plan that have no reference quantizer in this build (empty: all there).
std::string missing_kernels(const std::filesystem::path& input, const char* preset) {
  auto model = GgufModel::open(input);
  EXPECT_TRUE(model.ok());
  auto plan_model = plan_model_from_gguf(*model);
  EXPECT_TRUE(plan_model.ok());
  PlanOptions options;
  options.preset = *find_preset(preset);
  options.has_imatrix = true;
  auto plan = compute_plan(*plan_model, options);
  EXPECT_TRUE(plan.ok());
  std::string missing;
  for (const auto& [type, totals] : plan->histogram()) {
    const auto& qt = quant_type(type);
    if (active_kernels(qt).quantize_reference == nullptr) missing += std::string(qt.name) + " ";
  }
  return missing;
}

// Names the first tensor whose bytes differ, for a readable failure.
std::string first_difference(const std::filesystem::path& ours, const std::filesystem::path& ref) {
  auto a = GgufFile::open(ours);
  auto b = GgufFile::open(ref);
  if (!a.ok() || !b.ok()) return "cannot open both files";
  if (a->kvs().size() != b->kvs().size()) return "different metadata key counts";
  for (size_t i = 0; i < a->kvs().size(); ++i)
    if (a->kvs()[i].key != b->kvs()[i].key || !(a->kvs()[i].value == b->kvs()[i].value))
      return "metadata key " + a->kvs()[i].key + " / " + b->kvs()[i].key;
  for (size_t i = 0; i < a->tensors().size() && i < b->tensors().size(); ++i) {
    const auto& ta = a->tensors()[i];
    const auto& tb = b->tensors()[i];
    if (ta.name != tb.name || ta.type != tb.type) return "tensor info " + ta.name;
    const auto da = a->tensor_data(ta);
    const auto db = b->tensor_data(tb);
    if (!std::equal(da.begin(), da.end(), db.begin(), db.end())) return "tensor data " + ta.name;
  }
  return "elsewhere (header layout or padding)";
}

TEST(QuantizeShared, GgmlReferenceOutputIsByteIdenticalToLlamaQuantize) {
  QMIX_REQUIRE_SHARED(shared);
  const auto gguf = shared / "gguf";
  test::TempDir dir;
  int compared = 0;
  for (const auto& ref : kReferences) {
    SCOPED_TRACE(std::string(ref.model) + " " + ref.preset);
    const auto input = gguf / (std::string(ref.model) + ".bf16.gguf");
    const auto expected =
        gguf / "quantized" / (std::string(ref.model) + "." + ref.preset + ".gguf");
    const std::string missing = missing_kernels(input, ref.preset);
    if (!missing.empty()) {
      std::printf("[ skipped  ] %s %s: no kernel yet for %s\n", ref.model, ref.preset,
                  missing.c_str());
      continue;
    }
    const auto out = dir / (std::string(ref.model) + "." + ref.preset + ".gguf");
    // llama-quantize recorded the imatrix path as given: run from its directory, as it was.
    const std::string imatrix = std::string(ref.model) + ".wiki.imatrix.gguf";
    const auto r =
        test::run_command("cd " + (gguf / "imatrix").string() + " && " +
                          test::qmix_binary().string() + " quantize --ggml-reference --imatrix " +
                          imatrix + " " + input.string() + " " + out.string() + " " + ref.preset);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(test::read_bytes(out) == test::read_bytes(expected))
        << "differs from llama-quantize's file: " << first_difference(out, expected);
    std::filesystem::remove(out);
    ++compared;
  }
  if (compared == 0) GTEST_SKIP() << "no preset has all its kernels in this build yet";
}

}  // namespace
}  // namespace qmix
