#include "quant/iq2_blocks.h"

namespace qmix::iq2 {

float accumulate_block(float sum, float dx, float dy, float s) { return sum + dx * dy * s; }

float iq1_block_sum(int32_t grid_sum, int32_t shift_sum) {
  return static_cast<float>(grid_sum) + kIq1Delta * static_cast<float>(shift_sum);
}

}  // namespace qmix::iq2
