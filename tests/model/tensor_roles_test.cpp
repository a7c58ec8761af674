#include "model/tensor_roles.h"

#include <gtest/gtest.h>

namespace qmix {
namespace {

TEST(TensorRoles, ParsesBlockRoleAndSuffix) {
  auto t = parse_tensor_name("blk.12.ffn_down.weight");
  EXPECT_EQ(t.block, 12);
  EXPECT_EQ(t.role, Role::kFfnDown);
  EXPECT_EQ(t.suffix, "weight");
  t = parse_tensor_name("blk.0.ssm_a");
  EXPECT_EQ(t.role, Role::kSsmA);
  EXPECT_EQ(t.suffix, "");
  t = parse_tensor_name("blk.3.ssm_dt.bias");
  EXPECT_EQ(t.role, Role::kSsmDt);
  EXPECT_EQ(t.suffix, "bias");
  t = parse_tensor_name("token_embd.weight");
  EXPECT_EQ(t.block, -1);
  EXPECT_EQ(t.role, Role::kTokenEmbd);
  EXPECT_EQ(parse_tensor_name("output.weight").role, Role::kOutput);
  EXPECT_EQ(parse_tensor_name("output_norm.weight").role, Role::kOutputNorm);
  EXPECT_EQ(parse_tensor_name("blk.1.ffn_up_exps.weight").role, Role::kFfnUpExps);
  EXPECT_EQ(parse_tensor_name("blk.x.attn_q.weight").role, Role::kOther);
  EXPECT_EQ(parse_tensor_name("weird").role, Role::kOther);
}

TEST(TensorRoles, NamesRoundTrip) {
  for (const auto& r : all_roles()) EXPECT_EQ(role_by_name(r.name), r.role);
  EXPECT_EQ(role_group_name(role_info(Role::kSsmOut).group), "ssm");
}

}  // namespace
}  // namespace qmix
