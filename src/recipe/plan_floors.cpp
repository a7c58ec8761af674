#include "recipe/plan_floors.h"

#include <array>

namespace qmix {

namespace {

constexpr std::array kFloors = {
    // A linear-attention layer's output projection writes the recurrent state's read-out back
    // into the residual stream at every token; its error accumulates over the sequence rather
    // than staying local to one token, which a per-token error measure does not see.
    ArchitectureFloor{Role::kSsmOut, GgmlType::Q8_0,
                      "recurrent (linear-attention) output: its error compounds over the sequence"},
};

}  // namespace

std::span<const ArchitectureFloor> plan_architecture_floors() { return kFloors; }

}  // namespace qmix
