// --measure's scale groups: layer_zone() splits the blocks into first / middle / last, and
// plan_recipe() with a probe measures each (role, zone) group apart, so a probe that reports a
// larger loss for block 0 gives block 0's tensors a larger scale than the same role elsewhere.
#include <gtest/gtest.h>

#include <set>

#include "recipe/planner.h"
#include "testutil/testutil.h"

namespace qmix {
namespace {

TEST(PlannerZones, FirstMiddleLastAndEvenSplits) {
  // One zone, or a tensor outside the blocks: everything is zone 0.
  EXPECT_EQ(layer_zone(5, 8, 1), 0);
  EXPECT_EQ(layer_zone(-1, 8, 3), 0);
  // Two zones: the edges against the middle.
  EXPECT_EQ(layer_zone(0, 8, 2), 0);
  EXPECT_EQ(layer_zone(7, 8, 2), 0);
  EXPECT_EQ(layer_zone(3, 8, 2), 1);
  // Three: first, middle, last.
  EXPECT_EQ(layer_zone(0, 8, 3), 0);
  for (int b = 1; b < 7; ++b) EXPECT_EQ(layer_zone(b, 8, 3), 1) << b;
  EXPECT_EQ(layer_zone(7, 8, 3), 2);
  // Four: the six middle blocks split evenly in two.
  EXPECT_EQ(layer_zone(3, 8, 4), 1);
  EXPECT_EQ(layer_zone(4, 8, 4), 2);
  EXPECT_EQ(layer_zone(7, 8, 4), 3);
  EXPECT_EQ(layer_zone(0, 1, 3), 0);
}

// Reports a KLD proportional to the number of tensors changed, ten times more for block 0's.
class FakeProbe final : public LossProbe {
 public:
  Expected<double> measure(std::span<const std::pair<std::string, GgmlType>> types) override {
    calls.emplace_back();
    double kld = 0;
    for (const auto& [name, type] : types) {
      calls.back().insert(name);
      kld += name.starts_with("blk.0.") ? 1e-2 : 1e-3;
    }
    return kld;
  }
  std::vector<std::set<std::string>> calls;
};

TEST(PlannerZonesShared, ProbesEachRoleAndZoneApart) {
  QMIX_REQUIRE_SHARED(shared);
  PlanRequest req;
  req.model = shared / "gguf" / "tiny-llama.bf16.gguf";
  req.imatrices = {{shared / "gguf" / "imatrix" / "tiny-llama.wiki.imatrix.gguf", 1.0}};
  req.sample_rows = 64;
  req.budget.bpw = 5.0;
  FakeProbe probe;
  req.probe = &probe;
  req.probe_zones = 3;
  const auto r = plan_recipe(req);
  ASSERT_TRUE(r.ok()) << r.error().message;
  // Every probed group lies within one zone of one role.
  for (const auto& names : probe.calls) {
    std::set<std::string> groups;
    for (const PlanEntry& p : r->tensors)
      if (names.contains(p.name)) groups.insert(p.scale_group);
    EXPECT_EQ(groups.size(), 1u);
  }
  ASSERT_TRUE(r->scales.contains("attn_output@blk.0")) << r->scales.size();
  ASSERT_TRUE(r->scales.contains("attn_output@blk.1-6"));
  ASSERT_TRUE(r->scales.contains("attn_output@blk.7"));
  // Block 0's measured loss per unit of predicted error is the larger one.
  EXPECT_GT(r->scales.at("attn_output@blk.0"), r->scales.at("attn_output@blk.7"));

  req.probe_zones = 1;
  probe.calls.clear();
  const auto one = plan_recipe(req);
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_TRUE(one->scales.contains("attn_output"));
  EXPECT_LT(probe.calls.size(), r->scales.size());
}

}  // namespace
}  // namespace qmix
