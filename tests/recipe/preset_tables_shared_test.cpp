// Every preset's plan against llama-quantize's own per-tensor type tables
// (../shared/gguf/presets/presets-<model>.json, made with --imatrix <model>.wiki.imatrix.gguf
// from <model>.bf16.gguf): same type for every tensor, same tensor bytes, same bpw.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "recipe/presets.h"
#include "recipe/tensor_plan.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

constexpr const char* kModels[] = {"tiny-llama", "tiny-qwen3", "tiny-qwen35"};

nlohmann::json load_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

void check_model(const std::filesystem::path& shared, const std::string& model_name) {
  SCOPED_TRACE(model_name);
  const auto json = load_json(shared / "gguf/presets" / ("presets-" + model_name + ".json"));
  auto gguf = GgufModel::open(shared / "gguf" / (model_name + ".bf16.gguf"));
  ASSERT_TRUE(gguf.ok()) << gguf.error().message;
  auto model = plan_model_from_gguf(*gguf);
  ASSERT_TRUE(model.ok()) << model.error().message;

  const auto& presets = json.at("presets");
  EXPECT_EQ(presets.size(), all_presets().size());
  for (const auto& [name, expected] : presets.items()) {
    SCOPED_TRACE(name);
    auto preset = find_preset(name);
    ASSERT_TRUE(preset.ok()) << preset.error().message;
    EXPECT_EQ(static_cast<int>((*preset)->ftype), expected.at("file_type").get<int>());
    PlanOptions options;
    options.preset = *preset;
    options.has_imatrix = true;
    auto plan = compute_plan(*model, options);
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    const auto& types = expected.at("types");
    ASSERT_EQ(plan->tensors.size(), types.size());
    int mismatches = 0;
    for (const auto& t : plan->tensors) {
      const std::string want = types.at(t.name).get<std::string>();
      const std::string got = upper(quant_type(t.type).name);
      if (got != want && ++mismatches <= 5)
        ADD_FAILURE() << t.name << ": planned " << got << ", llama.cpp " << want << " (" << t.reason
                      << ")";
    }
    EXPECT_EQ(mismatches, 0);
    EXPECT_EQ(plan->bytes(), expected.at("tensor_bytes").get<uint64_t>());
    EXPECT_NEAR(plan->bits_per_weight(), expected.at("bpw").get<double>(), 1e-4);
  }
}

TEST(PresetTablesShared, EveryPresetMatchesLlamaCppOnEveryModel) {
  QMIX_REQUIRE_SHARED(shared);
  for (const char* m : kModels) check_model(shared, m);
}

// The JSON's key order is llama-quantize's processing order (by block, then name).
TEST(PresetTablesShared, PlanOrderIsLlamaCppOrder) {
  QMIX_REQUIRE_SHARED(shared);
  for (const char* m : kModels) {
    SCOPED_TRACE(m);
    std::ifstream in(shared / "gguf/presets" / (std::string("presets-") + m + ".json"));
    // nlohmann::ordered_json keeps the file's key order.
    const auto json = nlohmann::ordered_json::parse(in);
    std::vector<std::string> expected;
    for (const auto& [name, type] : json.at("presets").at("Q8_0").at("types").items())
      expected.push_back(name);
    auto gguf = GgufModel::open(shared / "gguf" / (std::string(m) + ".bf16.gguf"));
    ASSERT_TRUE(gguf.ok());
    auto model = plan_model_from_gguf(*gguf);
    ASSERT_TRUE(model.ok());
    PlanOptions options;
    options.preset = *find_preset("Q8_0");
    auto plan = compute_plan(*model, options);
    ASSERT_TRUE(plan.ok());
    std::vector<std::string> got;
    for (const auto& t : plan->tensors) got.push_back(t.name);
    EXPECT_EQ(got, expected);
  }
}

}  // namespace
}  // namespace qmix
