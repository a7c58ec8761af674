// The forward pass on a CUDA device: the CPU engine's operations (engine.cpp) in the same order,
// with activations kept in device memory between them. Matmuls are bf16 GEMMs (f32
// accumulation), attention two f32 GEMMs per head as on the CPU.
#pragma once

#include <initializer_list>
#include <map>
#include <memory>
#include <string>

#include "cuda/cuda_util.h"
#include "cuda/device_matmul.h"
#include "cuda/device_weights.h"
#include "engine/backend.h"

namespace qmix::cuda {

class CudaEngine final : public ForwardBackend {
 public:
  static Expected<std::unique_ptr<ForwardBackend>> create(const BackendInputs& in);

  Expected<std::vector<float>> eval(std::span<const int32_t> tokens, int64_t logits_from) override;
  void set_observer(MatmulObserver* observer) override { observer_ = observer; }
  std::string_view name() const override { return "cuda"; }

 private:
  CudaEngine(const BackendInputs& in, DeviceMatmul matmul, Residency residency);
  Status upload_weights();

  // Activations of one eval(), rows are tokens; grown as needed, kept between calls.
  struct Buffers {
    DeviceBuffer<float> x, xn, q, k, v, attn, gate, up, scores, logits;
    DeviceBuffer<float> qkv, conv, z, decay, beta, core;  // gated delta net layers
    DeviceBuffer<int32_t> ids;
  };
  Status reserve(int64_t n);
  Status attention_block(const LayerWeights& L, int64_t n);
  Status ffn_block(const LayerWeights& L, int64_t n);
  Status gated_delta_block(const LayerWeights& L, int64_t n);  // cuda_engine_delta_net.cpp
  Status attend(int64_t n);
  // y = input · Wᵀ (+ y for kAccumulate) for each product, the input rounded to bf16 once;
  // each weight's input is reported to the observer first.
  enum class Into { kOverwrite, kAccumulate };
  struct Product {
    const WeightRef& w;
    float* y;
  };
  Status project(const float* input, int64_t n, std::initializer_list<Product> products,
                 Into into = Into::kOverwrite);
  Status observe(const WeightRef& w, const float* x, int64_t n);
  Status flush_square_sums();

  const HParams& hp_;
  const ModelWeights& weights_;
  MatmulObserver* observer_ = nullptr;
  DeviceMatmul matmul_;
  DeviceWeightSet device_;
  DeviceWeight embedding_;  // token_embd in its own type: rows are looked up exactly
  Buffers b_;
  struct SquareSums {
    const WeightRef* weight;
    DeviceBuffer<double> sums;
    int64_t rows = 0;
  };
  std::map<std::string, SquareSums> square_sums_;
};

}  // namespace qmix::cuda
