#include <gtest/gtest.h>

#include "model/hparams.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

TEST(HParamsShared, ReadsTinyModels) {
  QMIX_REQUIRE_SHARED(shared);
  auto f = GgufFile::open(shared / "gguf/tiny-qwen35.bf16.gguf");
  ASSERT_TRUE(f.ok());
  auto h = read_hparams(*f);
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(h->n_layer, 8);
  EXPECT_TRUE(h->arch->hybrid);
  EXPECT_EQ(h->n_attention_layers(), 2);
  EXPECT_TRUE(h->is_attention_layer(3));
  EXPECT_FALSE(h->is_attention_layer(2));
  EXPECT_EQ(h->n_vocab, 4096);
  auto moe = GgufFile::open(shared / "gguf/tiny-qwen3moe.bf16.gguf");
  ASSERT_TRUE(moe.ok());
  auto hm = read_hparams(*moe);
  ASSERT_TRUE(hm.ok());
  EXPECT_EQ(hm->n_expert, 8);
  EXPECT_EQ(hm->n_expert_used, 2);
}

}  // namespace
}  // namespace qmix
