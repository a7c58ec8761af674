// The streaming quantizer as a library: chunking does not change the bytes, cancellation and
// errors leave no file, imatrix checks, and the output metadata order.
#include "recipe/quantize_model.h"

#include <gtest/gtest.h>

#include "gguf/gguf_file.h"
#include "testutil/testutil.h"
#include "testutil/tiny_gguf.h"

namespace qmix {
namespace {

class QuantizeModel : public ::testing::Test {
 protected:
  void SetUp() override {
    test::write_tiny_model(dir_ / "in.gguf");
    auto model = GgufModel::open(dir_ / "in.gguf");
    ASSERT_TRUE(model.ok()) << model.error().message;
    model_.emplace(std::move(*model));
  }

  QuantPlan plan(std::string_view preset, bool has_imatrix = false) {
    auto pm = plan_model_from_gguf(*model_);
    EXPECT_TRUE(pm.ok());
    PlanOptions o;
    o.preset = *find_preset(preset);
    o.has_imatrix = has_imatrix;
    o.output_type = GgmlType::Q8_0;
    auto p = compute_plan(*pm, o);
    EXPECT_TRUE(p.ok()) << p.error().message;
    return std::move(*p);
  }

  // Importance 1..n per column for every quantizable 2-D weight.
  ImportanceData importance_for_all(const QuantPlan& p) {
    ImportanceData im;
    im.file = "test.imatrix";
    im.dataset = "data.txt";
    im.chunk_count = 3;
    for (const auto& t : p.tensors) {
      if (!t.quantizable || t.name == "token_embd.weight" || t.name == "output.weight") continue;
      std::vector<float> v(static_cast<size_t>(t.shape[0]));
      for (size_t i = 0; i < v.size(); ++i) v[i] = 1.0f + static_cast<float>(i % 7);
      im.values[t.name] = v;
    }
    return im;
  }

  bool only_input_left() const {
    for (const auto& e : std::filesystem::directory_iterator(dir_.path()))
      if (e.path().filename() != "in.gguf") return false;
    return true;
  }

  test::TempDir dir_;
  std::optional<GgufModel> model_;
};

TEST_F(QuantizeModel, ChunkSizeDoesNotChangeTheBytes) {
  const QuantPlan p = plan("Q4_0");
  QuantizeJob job;
  job.plan = &p;
  ASSERT_TRUE(quantize_model(*model_, dir_ / "a.gguf", job).ok());
  job.chunk_values = 700;  // less than 3 rows of 256: rows split across chunks
  job.threads = 3;
  ASSERT_TRUE(quantize_model(*model_, dir_ / "b.gguf", job).ok());
  EXPECT_EQ(test::read_bytes(dir_ / "a.gguf"), test::read_bytes(dir_ / "b.gguf"));
}

TEST_F(QuantizeModel, CancellationLeavesNothing) {
  const QuantPlan p = plan("Q8_0");
  CancelToken cancel;
  cancel.cancel();
  QuantizeJob job;
  job.plan = &p;
  job.cancel = &cancel;
  const Status s = quantize_model(*model_, dir_ / "out.gguf", job);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kCancelled);
  EXPECT_TRUE(only_input_left());
}

TEST_F(QuantizeModel, ImatrixIsCheckedAndRecorded) {
  const QuantPlan p = plan("IQ4_XS", /*has_imatrix=*/true);
  ImportanceData im = importance_for_all(p);
  QuantizeJob job;
  job.plan = &p;
  job.imatrix = &im;
  ASSERT_TRUE(quantize_model(*model_, dir_ / "out.gguf", job).ok());
  auto f = GgufFile::open(dir_ / "out.gguf");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f->get_string("quantize.imatrix.file"), "test.imatrix");
  EXPECT_EQ(*f->get_string("quantize.imatrix.dataset"), "data.txt");
  EXPECT_EQ(f->find("quantize.imatrix.entries_count")->type(), GgufValueType::kUint32);
  EXPECT_EQ(*f->get_int("quantize.imatrix.entries_count"), static_cast<int64_t>(im.values.size()));
  EXPECT_EQ(*f->get_int("quantize.imatrix.chunks_count"), 3);
  std::filesystem::remove(dir_ / "out.gguf");

  im.values["blk.1.ffn_down.weight"].resize(10);
  const Status s = quantize_model(*model_, dir_ / "out.gguf", job);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("blk.1.ffn_down.weight"), std::string::npos);
  EXPECT_TRUE(only_input_left());
}

TEST_F(QuantizeModel, MissingImatrixEntryForAVeryLowBitTypeIsAnError) {
  const QuantPlan p = plan("IQ2_XS", /*has_imatrix=*/true);
  ImportanceData im = importance_for_all(p);
  im.values.erase("blk.0.attn_q.weight");
  QuantizeJob job;
  job.plan = &p;
  job.imatrix = &im;
  const Status s = check_quantize_job(*model_, dir_ / "out.gguf", job);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("blk.0.attn_q.weight"), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("no entry"), std::string::npos) << s.error().message;
}

TEST_F(QuantizeModel, MetadataOrderFollowsLlamaQuantize) {
  const QuantPlan p = plan("Q8_0");
  ImportanceData im = importance_for_all(p);
  QuantizeJob job;
  job.plan = &p;
  job.imatrix = &im;
  job.metadata_overrides.push_back({"general.name", GgufValue::string("x")});
  const auto kvs = output_metadata(*model_, job);
  std::vector<std::string> keys;
  for (const auto& kv : kvs) keys.push_back(kv.key);
  const std::vector<std::string> expected = {"general.architecture",
                                             "llama.block_count",
                                             "llama.embedding_length",
                                             "llama.attention.head_count",
                                             "llama.attention.head_count_kv",
                                             "general.quantization_version",
                                             "general.file_type",
                                             "general.name",
                                             "quantize.imatrix.file",
                                             "quantize.imatrix.dataset",
                                             "quantize.imatrix.entries_count",
                                             "quantize.imatrix.chunks_count"};
  EXPECT_EQ(keys, expected);
}

TEST(QuantizeModelSplit, KeepSplitWritesOneShardPerInputShard) {
  test::TempDir dir;
  const auto first = test::write_tiny_split_model((dir / "m").string());
  auto model = GgufModel::open(first);
  ASSERT_TRUE(model.ok()) << model.error().message;
  ASSERT_EQ(model->shards().size(), 2u);
  auto pm = plan_model_from_gguf(*model);
  ASSERT_TRUE(pm.ok());
  PlanOptions o;
  o.preset = *find_preset("Q8_0");
  o.order = PlanOrder::kByShard;
  auto plan = compute_plan(*pm, o);
  ASSERT_TRUE(plan.ok());
  QuantizeJob job;
  job.plan = &*plan;
  job.split = OutputSplit::kKeepShards;
  const auto paths = output_paths(*model, dir / "out.gguf", job.split);
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_EQ(paths[1].filename(), "out-00002-of-00002.gguf");
  ASSERT_TRUE(quantize_model(*model, dir / "out.gguf", job).ok());
  auto out = GgufModel::open(paths[0]);
  ASSERT_TRUE(out.ok()) << out.error().message;
  ASSERT_EQ(out->shards().size(), 2u);
  EXPECT_EQ(*out->metadata().get_int("general.file_type"), 7);
  EXPECT_EQ(out->shards()[1].find("general.architecture"), nullptr) << "metadata in shard 1 only";
  for (const auto& ref : model->tensors()) {
    const GgufTensorRef* q = out->find_tensor(ref.info->name);
    ASSERT_NE(q, nullptr) << ref.info->name;
    EXPECT_EQ(q->shard, ref.shard) << ref.info->name;
    EXPECT_EQ(q->info->type, ref.info->shape.size() > 1 ? GgmlType::Q8_0 : GgmlType::F32);
  }
  // Without --keep-split the shards merge into one file without split keys.
  o.order = PlanOrder::kByName;
  plan = compute_plan(*pm, o);
  job.plan = &*plan;
  job.split = OutputSplit::kOneFile;
  ASSERT_TRUE(quantize_model(*model, dir / "one.gguf", job).ok());
  auto one = GgufFile::open(dir / "one.gguf");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->find("split.count"), nullptr);
  EXPECT_EQ(one->tensors().size(), model->tensors().size());
}

}  // namespace
}  // namespace qmix
