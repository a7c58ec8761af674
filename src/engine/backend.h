// A device that runs the whole forward pass in place of the CPU loops. The engine stays the one
// entry point (eval, observer, hyper-parameters); a backend only replaces how eval() computes.
// Device modules (src/cuda) implement it; the engine never names them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "engine/observer.h"
#include "engine/weights.h"
#include "model/hparams.h"

namespace qmix {

class ForwardBackend {
 public:
  virtual ~ForwardBackend() = default;
  // Same contract as Engine::eval; tokens are already checked against the vocabulary.
  virtual Expected<std::vector<float>> eval(std::span<const int32_t> tokens,
                                            int64_t logits_from) = 0;
  virtual void set_observer(MatmulObserver* observer) = 0;
  virtual std::string_view name() const = 0;
};

// What a backend is built from. The weights are views into the model's mapping, valid while
// the engine lives; a backend copies what it needs to its device.
struct BackendInputs {
  const HParams& hp;
  const ModelWeights& weights;
  MatmulObserver* observer = nullptr;
  bool norm_topk = true;
};

using BackendFactory =
    std::function<Expected<std::unique_ptr<ForwardBackend>>(const BackendInputs& inputs)>;

}  // namespace qmix
