#include "cuda/cuda_engine.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <unordered_set>

namespace qmix::cuda {
namespace {

// Which LayerWeights members are matrices (kept in their type) and which are vectors (f32).
constexpr WeightRef LayerWeights::*kMatrices[] = {
    &LayerWeights::attn_q,      &LayerWeights::attn_k,   &LayerWeights::attn_v,
    &LayerWeights::attn_output, &LayerWeights::attn_qkv, &LayerWeights::attn_gate,
    &LayerWeights::ffn_gate,    &LayerWeights::ffn_up,   &LayerWeights::ffn_down,
    &LayerWeights::ssm_alpha,   &LayerWeights::ssm_beta, &LayerWeights::ssm_out};
constexpr WeightRef LayerWeights::*kVectors[] = {
    &LayerWeights::attn_norm,      &LayerWeights::attn_q_norm, &LayerWeights::attn_k_norm,
    &LayerWeights::post_attn_norm, &LayerWeights::ffn_norm,    &LayerWeights::ssm_conv1d,
    &LayerWeights::ssm_a,          &LayerWeights::ssm_dt,      &LayerWeights::ssm_norm};

constexpr cublasComputeType_t kAttentionCompute = CUBLAS_COMPUTE_32F_FAST_TF32;

ops::RopeStyle rope_style_for(Arch arch) {
  return arch == Arch::kLlama ? ops::RopeStyle::kNormal : ops::RopeStyle::kNeox;
}

Status check_supported(const HParams& hp, const ModelWeights& w) {
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    const LayerWeights& L = w.layers[static_cast<size_t>(il)];
    if (L.ffn_gate_inp.present())
      return make_error(ErrorCode::kUnsupported,
                        "the CUDA backend does not run mixture-of-experts layers yet (layer {})",
                        il);
  }
  return ok_status();
}

// Decoding every matrix to bf16 once is faster (no decode per pass) and costs 2 bytes per
// weight: chosen when that fits in 3/4 of the free device memory, or forced by
// QMIX_CUDA_WEIGHTS=once|per-pass (read once per engine, for measurements).
Expected<Residency> choose_residency(const ModelWeights& w) {
  if (const char* env = std::getenv("QMIX_CUDA_WEIGHTS")) {
    const std::string_view v = env;
    if (v == "once") return Residency::kDecodedOnce;
    if (v == "per-pass") return Residency::kDecodeEachPass;
    return make_error(ErrorCode::kInvalidArgument,
                      "QMIX_CUDA_WEIGHTS must be once or per-pass (got '{}')", v);
  }
  std::unordered_set<const std::byte*> seen;
  double bf16_bytes = 0;
  auto add = [&](const WeightRef& r) {
    if (r.present() && seen.insert(r.data).second)
      bf16_bytes += 2.0 * static_cast<double>(r.rows * r.experts * r.cols);
  };
  add(w.output);
  for (const LayerWeights& L : w.layers)
    for (auto m : kMatrices) add(L.*m);
  size_t free = 0, total = 0;
  QMIX_TRY(check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo"));
  return bf16_bytes < 0.75 * static_cast<double>(free) ? Residency::kDecodedOnce
                                                       : Residency::kDecodeEachPass;
}

}  // namespace

CudaEngine::CudaEngine(const BackendInputs& in, DeviceMatmul matmul, Residency residency)
    : hp_(in.hp),
      weights_(in.weights),
      observer_(in.observer),
      matmul_(std::move(matmul)),
      device_(residency) {}

Expected<std::unique_ptr<ForwardBackend>> CudaEngine::create(const BackendInputs& in) {
  QMIX_TRY(check_supported(in.hp, in.weights));
  QMIX_TRY_ASSIGN(DeviceMatmul matmul, DeviceMatmul::create());
  QMIX_TRY_ASSIGN(const Residency residency, choose_residency(in.weights));
  std::unique_ptr<CudaEngine> e(new CudaEngine(in, std::move(matmul), residency));
  QMIX_TRY(e->upload_weights());
  return std::unique_ptr<ForwardBackend>(std::move(e));
}

Status CudaEngine::upload_weights() {
  QMIX_TRY_ASSIGN(embedding_, upload_matrix(weights_.token_embd));
  QMIX_TRY(device_.add_matrix(weights_.output));
  QMIX_TRY(device_.add_vector(weights_.output_norm));
  for (const LayerWeights& L : weights_.layers) {
    for (auto m : kMatrices) QMIX_TRY(device_.add_matrix(L.*m));
    for (auto v : kVectors) QMIX_TRY(device_.add_vector(L.*v));
  }
  return ok_status();
}

Status CudaEngine::reserve(int64_t n) {
  const int64_t E = hp_.n_embd;
  int64_t q_width = 0, ffn = 0;
  for (const LayerWeights& L : weights_.layers) {
    q_width = std::max(q_width, L.attn_q.rows);
    ffn = std::max(ffn, L.ffn_up.rows);
  }
  const int64_t attn_width = hp_.n_head * std::max(hp_.head_dim_k, hp_.head_dim_v);
  for (DeviceBuffer<float>* buf : {&b_.x, &b_.xn}) QMIX_TRY(buf->reserve(n * E));
  QMIX_TRY(b_.q.reserve(n * q_width));
  QMIX_TRY(b_.k.reserve(n * hp_.n_head_kv * hp_.head_dim_k));
  QMIX_TRY(b_.v.reserve(n * hp_.n_head_kv * hp_.head_dim_v));
  QMIX_TRY(b_.attn.reserve(n * attn_width));
  // gate doubles as the split-off attention gate (n × n_head × head_dim).
  QMIX_TRY(b_.gate.reserve(n * std::max(ffn, attn_width)));
  QMIX_TRY(b_.up.reserve(n * std::max(ffn, q_width)));
  QMIX_TRY(b_.scores.reserve(hp_.n_head * n * n));
  for (const LayerWeights& L : weights_.layers) {
    if (!L.attn_qkv.present()) continue;
    const int64_t C = L.attn_qkv.rows, V = hp_.ssm_inner_size, n_v = hp_.ssm_time_step_rank;
    for (DeviceBuffer<float>* buf : {&b_.qkv, &b_.conv}) QMIX_TRY(buf->reserve(n * C));
    for (DeviceBuffer<float>* buf : {&b_.z, &b_.core}) QMIX_TRY(buf->reserve(n * V));
    for (DeviceBuffer<float>* buf : {&b_.decay, &b_.beta}) QMIX_TRY(buf->reserve(n * n_v));
  }
  return b_.ids.reserve(n);
}

Expected<std::vector<float>> CudaEngine::eval(std::span<const int32_t> tokens,
                                              int64_t logits_from) {
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t E = hp_.n_embd;
  QMIX_TRY(reserve(n));
  QMIX_TRY(b_.ids.upload(tokens.data(), n));
  dequantize_f32(embedding_.m, b_.ids.get(), n, b_.x.get(), nullptr);
  QMIX_TRY(check_launch("token embedding"));
  for (int64_t il = 0; il < hp_.n_layer; ++il) {
    const LayerWeights& L = weights_.layers[static_cast<size_t>(il)];
    QMIX_TRY(hp_.is_attention_layer(il) ? attention_block(L, n) : gated_delta_block(L, n));
    QMIX_TRY(ffn_block(L, n));
  }
  const int64_t n_out = n - logits_from;
  const int64_t vocab = weights_.output.rows;
  rms_norm(b_.x.get() + logits_from * E, device_.vector(weights_.output_norm),
           static_cast<float>(hp_.rms_eps), n_out, E, b_.xn.get(), nullptr);
  QMIX_TRY(b_.logits.reserve(n_out * vocab));
  QMIX_TRY(project(b_.xn.get(), n_out, {{weights_.output, b_.logits.get()}}));
  std::vector<float> logits(static_cast<size_t>(n_out * vocab));
  QMIX_TRY(check(cudaMemcpy(logits.data(), b_.logits.get(), logits.size() * sizeof(float),
                            cudaMemcpyDeviceToHost),
                 "copy logits"));
  QMIX_TRY(flush_square_sums());
  return logits;
}

Status CudaEngine::attention_block(const LayerWeights& L, int64_t n) {
  const int64_t E = hp_.n_embd, hd = hp_.head_dim_k, nh = hp_.n_head, nkv = hp_.n_head_kv;
  const float eps = static_cast<float>(hp_.rms_eps);
  rms_norm(b_.x.get(), device_.vector(L.attn_norm), eps, n, E, b_.xn.get(), nullptr);
  // Gated attention (Qwen3.5): attn_q yields [q | gate] per head, split into q and gate.
  const bool gated = L.attn_q.rows == 2 * nh * hd;
  float* q_out = gated ? b_.up.get() : b_.q.get();
  QMIX_TRY(
      project(b_.xn.get(), n, {{L.attn_q, q_out}, {L.attn_k, b_.k.get()}, {L.attn_v, b_.v.get()}}));
  if (gated) split_query_gate(q_out, n, nh, hd, b_.q.get(), b_.gate.get(), nullptr);
  if (L.attn_q_norm.present())
    rms_norm(b_.q.get(), device_.vector(L.attn_q_norm), eps, n * nh, hd, b_.q.get(), nullptr);
  if (L.attn_k_norm.present())
    rms_norm(b_.k.get(), device_.vector(L.attn_k_norm), eps, n * nkv, hd, b_.k.get(), nullptr);
  const auto style = rope_style_for(hp_.arch->arch);
  const auto theta = static_cast<float>(hp_.rope_theta);
  rope(b_.q.get(), n, nh, hd, hp_.n_rot, theta, style, nullptr);
  rope(b_.k.get(), n, nkv, hd, hp_.n_rot, theta, style, nullptr);
  QMIX_TRY(check_launch("attention inputs"));
  QMIX_TRY(attend(n));
  if (gated) sigmoid_gate(b_.attn.get(), b_.gate.get(), n * nh * hp_.head_dim_v, nullptr);
  // The residual add is the GEMM's beta = 1.
  return project(b_.attn.get(), n, {{L.attn_output, b_.x.get()}}, Into::kAccumulate);
}

// Per head, scores = Q·Kᵀ and out = P·V as f32 GEMMs, batched over the kv heads for each
// position inside a query group (head h = kv head · group + g). The tensor cores take them in
// TF32 (10-bit mantissa, as precise as the bf16 weight products or better): on CUDA cores the
// n² products cost a fifth of a 2048-token pass.
Status CudaEngine::attend(int64_t n) {
  const int64_t nh = hp_.n_head, nkv = hp_.n_head_kv, hd = hp_.head_dim_k, hdv = hp_.head_dim_v;
  const int64_t group = nh / nkv;
  const float one = 1.0f, zero = 0.0f;
  const auto in = [](int64_t v) { return static_cast<int>(v); };
  for (int64_t g = 0; g < group; ++g) {
    // Column-major: scores_h (n_keys × n_queries) = Kᵀ(hd × n_keys)ᵀ · Q(hd × n_queries).
    QMIX_TRY(check(cublasGemmStridedBatchedEx(
                       matmul_.blas(), CUBLAS_OP_T, CUBLAS_OP_N, in(n), in(n), in(hd), &one,
                       b_.k.get(), CUDA_R_32F, in(nkv * hd), hd, b_.q.get() + g * hd, CUDA_R_32F,
                       in(nh * hd), group * hd, &zero, b_.scores.get() + g * n * n, CUDA_R_32F,
                       in(n), group * n * n, in(nkv), kAttentionCompute, CUBLAS_GEMM_DEFAULT),
                   "attention scores"));
  }
  causal_softmax(b_.scores.get(), nh, n, 1.0f / std::sqrt(static_cast<float>(hd)), nullptr);
  QMIX_TRY(check_launch("causal softmax"));
  for (int64_t g = 0; g < group; ++g) {
    // out_h (hdv × n_queries) = V (hdv × n_keys) · P (n_keys × n_queries).
    QMIX_TRY(check(
        cublasSgemmStridedBatched(matmul_.blas(), CUBLAS_OP_N, CUBLAS_OP_N, in(hdv), in(n), in(n),
                                  &one, b_.v.get(), in(nkv * hdv), hdv, b_.scores.get() + g * n * n,
                                  in(n), group * n * n, &zero, b_.attn.get() + g * hdv,
                                  in(nh * hdv), group * hdv, in(nkv)),
        "attention output"));
  }
  return ok_status();
}

Status CudaEngine::ffn_block(const LayerWeights& L, int64_t n) {
  const int64_t E = hp_.n_embd, F = L.ffn_up.rows;
  const WeightRef& norm_w = L.ffn_norm.present() ? L.ffn_norm : L.post_attn_norm;
  rms_norm(b_.x.get(), device_.vector(norm_w), static_cast<float>(hp_.rms_eps), n, E, b_.xn.get(),
           nullptr);
  QMIX_TRY(project(b_.xn.get(), n, {{L.ffn_gate, b_.gate.get()}, {L.ffn_up, b_.up.get()}}));
  swiglu(b_.gate.get(), b_.up.get(), n * F, b_.gate.get(), nullptr);
  QMIX_TRY(check_launch("swiglu"));
  return project(b_.gate.get(), n, {{L.ffn_down, b_.x.get()}}, Into::kAccumulate);
}

Status CudaEngine::project(const float* input, int64_t n, std::initializer_list<Product> products,
                           Into into) {
  const int64_t cols = products.begin()->w.cols;
  QMIX_TRY(matmul_.set_input(input, n, cols));
  for (const Product& p : products) {
    QMIX_TRY(observe(p.w, input, n));
    QMIX_TRY(matmul_.multiply(device_.matrix(p.w), p.y, into == Into::kAccumulate ? 1.0f : 0.0f));
  }
  return ok_status();
}

Status CudaEngine::observe(const WeightRef& w, const float* x, int64_t n) {
  if (observer_ == nullptr) return ok_status();
  if (!observer_->accepts_square_sums()) {
    std::vector<float> host(static_cast<size_t>(n * w.cols));
    QMIX_TRY(check(cudaMemcpy(host.data(), x, host.size() * sizeof(float), cudaMemcpyDeviceToHost),
                   "copy matmul input for the observer"));
    observer_->on_matmul(w, host.data(), n, w.cols, {});
    return ok_status();
  }
  auto [it, added] = square_sums_.try_emplace(w.name);
  SquareSums& s = it->second;
  if (added) {
    s.weight = &w;
    QMIX_TRY(s.sums.reserve(w.cols));
    QMIX_TRY(check(cudaMemset(s.sums.get(), 0, static_cast<size_t>(w.cols) * sizeof(double)),
                   "cudaMemset"));
  }
  add_square_sums(x, n, w.cols, s.sums.get(), nullptr);
  s.rows += n;
  return check_launch("square sums");
}

// Once per eval(): the observer receives each weight's Σx² and the rows they cover.
Status CudaEngine::flush_square_sums() {
  std::vector<double> host;
  for (auto& [name, s] : square_sums_) {
    if (s.rows == 0) continue;
    host.resize(static_cast<size_t>(s.weight->cols));
    QMIX_TRY(check(
        cudaMemcpy(host.data(), s.sums.get(), host.size() * sizeof(double), cudaMemcpyDeviceToHost),
        "copy square sums"));
    const int64_t rows[] = {s.rows};
    if (observer_ != nullptr) observer_->on_square_sums(*s.weight, host, rows);
    QMIX_TRY(check(cudaMemset(s.sums.get(), 0, host.size() * sizeof(double)), "cudaMemset"));
    s.rows = 0;
  }
  return ok_status();
}

}  // namespace qmix::cuda
