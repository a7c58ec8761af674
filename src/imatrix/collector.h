// Importance-matrix collection: an engine observer that sums x² per input channel of every
// weight matmul, and the chunked calibration loop llama-imatrix runs.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/progress.h"
#include "core/thread_pool.h"
#include "engine/engine.h"
#include "engine/observer.h"
#include "imatrix/imatrix.h"

namespace qmix {

enum class OutputWeight {
  kSkip,     // llama-imatrix's default: only weights inside blocks ("blk.*")
  kCollect,  // --process-output: also `output.weight` (an untied output matrix)
};

class ImatrixCollector final : public MatmulObserver {
 public:
  // `pool` (optional) parallelises the accumulation over channels; it runs while the
  // engine's own workers wait, so it may have as many threads as the engine.
  explicit ImatrixCollector(OutputWeight output = OutputWeight::kSkip, ThreadPool* pool = nullptr);

  void on_matmul(const WeightRef& w, const float* x, int64_t rows, int64_t cols,
                 std::span<const int32_t> expert_of_row) override;
  bool accepts_square_sums() const override { return true; }
  void on_square_sums(const WeightRef& w, std::span<const double> sum_sq,
                      std::span<const int64_t> rows_per_expert) override;

  // Continues from an earlier result (resume, or adding a corpus to a file): its sums,
  // counts, chunk count and datasets become the starting state.
  void seed(const Imatrix& previous);
  // Marks the end of a chunk: the per-chunk totals (for confidence intervals) are closed.
  void end_chunk();
  // A shape mismatch between the model and seeded data, reported once seen.
  const Status& status() const { return status_; }

  // The sums so far, with chunk metadata.
  Imatrix result(int64_t chunk_size, const std::vector<std::string>& datasets) const;
  int64_t chunks() const { return chunks_; }
  OutputWeight output_weight() const { return output_; }

 private:
  struct Accumulator {
    int64_t n_per_row = 0;
    std::vector<double> sum_sq;  // n_mat × n_per_row
    std::vector<int64_t> counts;
    std::vector<double> chunk_sum_sq;  // per finished chunk: Σ over all channels
    std::vector<int64_t> chunk_counts;
    double closed_sum_sq = 0;  // totals at the end of the last finished chunk
    int64_t closed_count = 0;
  };
  bool wanted(const std::string& name) const;
  Accumulator* accumulator_for(const WeightRef& w, int64_t cols);
  void add_rows(Accumulator& acc, const float* x, int64_t rows, int64_t cols,
                std::span<const int32_t> expert_of_row);

  OutputWeight output_;
  ThreadPool* pool_;
  std::map<std::string, Accumulator, std::less<>> acc_;
  int64_t chunks_ = 0;
  std::vector<std::string> seeded_datasets_;
  Status status_;
};

struct CollectOptions {
  int64_t n_ctx = 512;                 // tokens per chunk
  int64_t max_chunks = -1;             // -1: every complete chunk
  int64_t skip_chunks = 0;             // chunks already done (resume)
  std::optional<int32_t> bos_token{};  // set: the first token of each chunk becomes BOS
  int64_t save_every = 0;              // > 0: call `checkpoint` every this many chunks
  std::function<Status(const Imatrix&)> checkpoint{};
  std::vector<std::string> datasets{};  // recorded in the result
  ProgressSink* progress = nullptr;
  const CancelToken* cancel = nullptr;  // polled between chunks
};

struct CollectResult {
  Imatrix imatrix;
  int64_t chunks_run = 0;  // in this call (excluding seeded/skipped ones)
  bool cancelled = false;  // stopped early; `imatrix` holds the complete chunks
  double seconds = 0;
  double tokens_per_second = 0;
};

// Chunk i covers tokens[i·n_ctx, (i+1)·n_ctx): llama-imatrix's non-overlapping chunks; the
// engine must have `collector` as its observer.
Expected<CollectResult> collect_imatrix(Engine& engine, ImatrixCollector& collector,
                                        std::span<const int32_t> tokens,
                                        const CollectOptions& options);

}  // namespace qmix
