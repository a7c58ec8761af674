#include "engine/vec_exp.h"

#include <cmath>

#include "core/cpu.h"

namespace qmix {

void exp_inplace_scalar(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::exp(x[i]);
}

ExpInplaceFn exp_inplace() {
  return cpu_features().use_avx2() ? exp_inplace_avx2 : exp_inplace_scalar;
}

}  // namespace qmix
