// Architecture floors `qmix plan` always keeps, as data: a role and the least type it may get,
// with the reason. They become `architecture` rules (min) of the planned recipe, so they are
// visible, survive `quantize --recipe`, and no data rule can cross them.
#pragma once

#include <span>
#include <string_view>

#include "model/tensor_roles.h"
#include "quant/types.h"

namespace qmix {

struct ArchitectureFloor {
  Role role;
  GgmlType min;
  std::string_view reason;
};

std::span<const ArchitectureFloor> plan_architecture_floors();

}  // namespace qmix
