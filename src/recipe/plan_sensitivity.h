// Sensitivity of a weight tensor to a quantization type, measured on its actual values
// (docs/plan.md, "Sensitivity"): the imatrix-weighted squared quantization error
//
//     err(t, T) = Σ_e f_e · Σ_rows Σ_j m_ej · (w_ij − q_T(w)_ij)²
//
// where m_ej is the activation second moment E[x_j²] of input column j (matrix e), so that
// err = E‖(W − Q)x‖² for inputs with those second moments (the imatrix keeps only the diagonal
// of E[xxᵀ]: columns are treated as uncorrelated). q_T is our own quantizer run exactly as
// `qmix quantize --imatrix` runs it (same kernels, same importance values). For stacked MoE
// experts f_e is the expert's routing frequency relative to the mean expert (from the imatrix's
// per-expert row counts), so a dormant expert's error counts less; a dense tensor has f = 1.
// The output energy E‖Wx‖² = Σ_e f_e Σ Σ m_ej w_ij² is kept beside it for relative errors.
//
// Rows are sampled deterministically (evenly spaced, at most `max_rows` per tensor spread over
// its matrices) and the sums scaled to all rows; every ggml type quantizes row by row, so a
// sampled row's error is exactly the error it has in the full tensor. Results are cached on
// disk under a key hashed from the sampled rows' bytes, the importance values and the type.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/progress.h"
#include "core/thread_pool.h"
#include "gguf/gguf_model.h"
#include "imatrix/imatrix.h"
#include "quant/quantize_rows.h"

namespace qmix {

// How the error of one tensor is weighed: per matrix (expert) and input column, the mixed
// activation second moments, and per matrix its relative activity.
struct ErrorWeights {
  std::vector<float> channel;    // n_mat × cols, matrix-major; empty: uniform (1)
  std::vector<double> activity;  // n_mat, mean 1 over matrices; empty: all 1
};

struct WeightedImatrix {
  const Imatrix* imatrix = nullptr;
  double weight = 1.0;
};

// Several importance matrices combined by weight. Each file is first normalised as
// `qmix imatrix compare` does: divided by the geometric mean G of its tensors' mean importance
// (over the tensors every file has), so corpus length and a corpus-wide activation scale do not
// decide the mix; then m_j = Σ_k w_k · E_k[x_j²] / G_k with the weights summing to 1. Expert
// activity mixes the same way from each file's per-expert row counts.
class ImportanceMix {
 public:
  static Expected<ImportanceMix> create(std::span<const WeightedImatrix> inputs);

  // Weights for a tensor of `n_mat` matrices of `cols` columns; uniform when no file has it
  // (or its size does not match, e.g. an embedding).
  ErrorWeights weights_for(std::string_view name, int64_t cols, int64_t n_mat) const;
  bool empty() const { return inputs_.empty(); }

 private:
  struct Input {
    const Imatrix* imatrix = nullptr;
    double weight = 0;  // normalised to sum 1
    double scale = 1;   // 1 / G
  };
  std::vector<Input> inputs_;
};

// One tensor to measure: rows of `cols` values in `n_mat` matrices of `rows` rows each, stored
// as `source_type` bytes (or given as f32).
struct SensitivityTensor {
  std::string name;
  GgmlType source_type = GgmlType::F32;
  std::span<const std::byte> data;  // n_mat × rows × row_bytes(cols)
  int64_t cols = 0, rows = 0, n_mat = 1;
  std::vector<GgmlType> types;
  std::span<const float>
      quant_importance;  // what quantize passes the kernel: n_mat × cols or empty
  ErrorWeights weights;
};

struct TensorSensitivity {
  std::string name;
  double energy = 0;  // E‖Wx‖² (same weighting and scaling as the errors)
  std::unordered_map<GgmlType, double> error;
  int64_t sampled_rows = 0, total_rows = 0;
  bool from_cache = false;

  // error / energy; 0 for a tensor without energy.
  double relative(GgmlType type) const;
};

struct SensitivityOptions {
  int64_t max_rows = 512;  // sampled rows per tensor (all matrices together; ≥ 8 per matrix)
  QuantAlgorithm algorithm = QuantAlgorithm::kBest;  // as `qmix quantize` (its default)
  std::filesystem::path cache_dir;                   // empty: no cache
  ThreadPool* pool = nullptr;                        // tensors run in parallel on it
  ProgressSink* progress = nullptr;                  // tensors done / total
  WarningSink* warnings = nullptr;                   // cache write failures
  const CancelToken* cancel = nullptr;
};

// Errors: a type whose blocks do not divide `cols`, a type that needs importance values
// without them, non-finite weights, cancellation.
Expected<TensorSensitivity> measure_tensor(const SensitivityTensor& tensor,
                                           const SensitivityOptions& options);
Expected<std::vector<TensorSensitivity>> measure_tensors(std::span<const SensitivityTensor> tensors,
                                                         const SensitivityOptions& options);

// The rows sampled from a matrix of `rows` rows when `per_matrix` are kept: evenly spaced,
// the centre of each of `per_matrix` equal strata.
std::vector<int64_t> sampled_rows(int64_t rows, int64_t per_matrix);

}  // namespace qmix
