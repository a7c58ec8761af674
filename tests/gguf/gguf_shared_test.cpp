// Every GGUF that llama.cpp's tools made in ../shared/gguf must read cleanly.
#include <gtest/gtest.h>

#include "gguf/gguf_model.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

TEST(GgufShared, ReadsEveryLlamaCppFile) {
  QMIX_REQUIRE_SHARED(shared);
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(shared / "gguf")) {
    if (e.path().extension() != ".gguf") continue;
    SCOPED_TRACE(e.path().string());
    auto m = GgufModel::open(e.path());
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_FALSE(m->metadata().kvs().empty());
    ++files;
  }
  EXPECT_GE(files, 20);
}

TEST(GgufShared, Qwen3Q4KMHasLlamaCppTypes) {
  QMIX_REQUIRE_SHARED(shared);
  auto m = GgufModel::open(shared / "gguf/quantized/tiny-qwen3.Q4_K_M.gguf");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(*m->metadata().get_string("general.architecture"), "qwen3");
  EXPECT_EQ(*m->metadata().get_int("general.file_type"), 15);  // LLAMA_FTYPE_MOSTLY_Q4_K_M
  const auto* norm = m->find_tensor("blk.0.attn_norm.weight");
  ASSERT_NE(norm, nullptr);
  EXPECT_EQ(norm->info->type, GgmlType::F32);
}

}  // namespace
}  // namespace qmix
