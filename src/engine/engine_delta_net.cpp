// Gated delta net (linear attention) layers of the Qwen3.5 hybrid: see issue [hybrid].
#include "engine/engine.h"

namespace qmix {

void Engine::gated_delta_block(int64_t, Scratch&, int64_t) {
  QMIX_CHECK(!"gated delta net layers are not implemented yet");
}

}  // namespace qmix
