// The memory model: hand-computed sizes for the worked example of docs/fit.md, and the
// hyper-parameters of a named shape equal to those read back from a written model.
#include "model/memory_model.h"

#include <gtest/gtest.h>

#include "gguf/gguf_file.h"
#include "model/synth.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

HParams qwen36_27b() {
  auto spec = synth_shape("qwen3.6-27b");
  EXPECT_TRUE(spec.ok());
  auto hp = synth_hparams(*spec);
  EXPECT_TRUE(hp.ok());
  return *hp;
}

TEST(MemoryModel, HybridKvCacheOnlyOnAttentionLayers) {
  const HParams hp = qwen36_27b();
  ASSERT_EQ(hp.n_layer, 64);
  ASSERT_EQ(hp.n_attention_layers(), 16);
  // 16 layers × 4 KV heads × (256 + 256) values × 2 bytes.
  EXPECT_EQ(kv_bytes_per_token(hp, GgmlType::F16, GgmlType::F16), 16u * 4 * 512 * 2);
  // q8_0: 34 bytes per 32 values.
  EXPECT_EQ(kv_bytes_per_token(hp, GgmlType::Q8_0, GgmlType::Q8_0), 16u * 4 * 512 / 32 * 34);
}

TEST(MemoryModel, RecurrentStateOfTheWorkedExample) {
  const HParams hp = qwen36_27b();
  // 48 linear layers × (3 × (6144 + 2·16·128) conv + 128 × 6144 delta) f32.
  const uint64_t per_layer = (3u * (6144 + 2 * 16 * 128) + 128u * 6144) * 4;
  EXPECT_EQ(recurrent_state_bytes(hp), 48 * per_layer);
}

TEST(MemoryModel, MaxContextIsTheLargestThatFits) {
  const HParams hp = qwen36_27b();
  const uint64_t weights = 16ull << 30, budget = 24ull << 30;
  MemoryRequest r;
  const int64_t ctx = max_context(hp, weights, budget, r);
  ASSERT_GT(ctx, 0);
  r.n_ctx = ctx;
  EXPECT_LE(estimate_memory(hp, weights, r).total(), budget);
  r.n_ctx = ctx + 256;
  EXPECT_GT(estimate_memory(hp, weights, r).total(), budget);
  EXPECT_EQ(max_context(hp, 30ull << 30, budget, r), 0);  // weights alone do not fit
}

TEST(MemoryModel, DenseModelsCacheEveryLayerAndHaveNoState) {
  auto spec = synth_shape("qwen3-8b");
  ASSERT_TRUE(spec.ok());
  auto hp = synth_hparams(*spec);
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(recurrent_state_bytes(*hp), 0u);
  EXPECT_EQ(
      kv_bytes_per_token(*hp, GgmlType::F16, GgmlType::F16),
      static_cast<uint64_t>(hp->n_layer * hp->n_head_kv * (hp->head_dim_k + hp->head_dim_v) * 2));
}

TEST(MemoryModel, ShapeHparamsEqualTheWrittenModel) {
  test::TempDir dir;
  for (Arch arch : {Arch::kQwen3, Arch::kQwen35, Arch::kQwen3Moe}) {
    SynthSpec s;
    s.arch = arch;
    s.layers = 4;
    s.hidden = 128;
    s.ffn = 256;
    s.vocab = 300;
    s.experts = arch == Arch::kQwen3Moe ? 4 : 0;
    s.experts_used = s.experts ? 2 : 0;
    ASSERT_TRUE(write_synthetic_model(s, dir / "m.gguf").ok());
    auto file = GgufFile::open(dir / "m.gguf");
    ASSERT_TRUE(file.ok());
    auto read = read_hparams(*file);
    auto made = synth_hparams(s);
    ASSERT_TRUE(read.ok() && made.ok());
    EXPECT_EQ(read->arch, made->arch);
    EXPECT_EQ(read->n_attention_layers(), made->n_attention_layers());
    EXPECT_EQ(kv_bytes_per_token(*read, GgmlType::F16, GgmlType::Q8_0),
              kv_bytes_per_token(*made, GgmlType::F16, GgmlType::Q8_0));
    EXPECT_EQ(recurrent_state_bytes(*read), recurrent_state_bytes(*made));
    MemoryRequest r;
    EXPECT_EQ(compute_buffer_bytes(*read, r), compute_buffer_bytes(*made, r));
  }
}

}  // namespace
}  // namespace qmix
