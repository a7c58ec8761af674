// The type ladder `qmix recipe derive` steps along: Q2_K < Q3_K < Q4_K < Q5_K < Q6_K < Q8_0 <
// F16. Other types sit on the rung of the K-quant they replace (IQ4_XS and Q4_0 on the Q4_K
// rung, BF16 on F16's), so "one step up from IQ4_XS" is Q5_K. Types off the ladder (F32,
// integers) are never stepped.
#pragma once

#include <optional>

#include "quant/types.h"

namespace qmix {

// 0 for the Q2_K rung … 6 for F16; nullopt for types off the ladder.
std::optional<int> ladder_rung(GgmlType type);

// The rung's own type (the K-quant, Q8_0 or F16); nullopt outside 0..6.
std::optional<GgmlType> ladder_type(int rung);

// `steps` rungs up (positive) or down (negative) from `type`, as the rung's own type; nullopt
// when `type` is off the ladder or the step would leave it.
std::optional<GgmlType> ladder_step(GgmlType type, int steps);

}  // namespace qmix
