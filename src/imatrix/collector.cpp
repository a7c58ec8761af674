#include "imatrix/collector.h"

#include <algorithm>
#include <chrono>
#include <numeric>

#include "engine/weights.h"

namespace qmix {

namespace {

constexpr std::string_view kBlockPrefix = "blk.";
constexpr std::string_view kOutputWeight = "output.weight";
// Below this many values the accumulation stays on the calling thread.
constexpr int64_t kParallelMinWork = 1 << 16;
constexpr int64_t kChannelGrain = 64;

// Adds Σx² over `rows` rows of x into sums[c0, c1).
void accumulate_squares(const float* x, int64_t rows, int64_t cols, int64_t c0, int64_t c1,
                        double* sums) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    for (int64_t c = c0; c < c1; ++c) {
      const double v = row[c];
      sums[c] += v * v;
    }
  }
}

}  // namespace

ImatrixCollector::ImatrixCollector(OutputWeight output, ThreadPool* pool)
    : output_(output), pool_(pool) {}

bool ImatrixCollector::wanted(const std::string& name) const {
  // llama-imatrix's choice: weights inside blocks; the output matrix only when asked for.
  if (name.starts_with(kBlockPrefix)) return true;
  return output_ == OutputWeight::kCollect && name == kOutputWeight;
}

ImatrixCollector::Accumulator* ImatrixCollector::accumulator_for(const WeightRef& w, int64_t cols) {
  auto it = acc_.find(w.name);
  if (it == acc_.end()) {
    Accumulator acc;
    acc.n_per_row = cols;
    acc.sum_sq.assign(static_cast<size_t>(cols * w.experts), 0.0);
    acc.counts.assign(static_cast<size_t>(w.experts), 0);
    // A weight first seen late (never happens with a fixed graph) gets zero for past chunks.
    acc.chunk_sum_sq.assign(static_cast<size_t>(chunks_), 0.0);
    acc.chunk_counts.assign(static_cast<size_t>(chunks_), 0);
    it = acc_.emplace(w.name, std::move(acc)).first;
  }
  Accumulator& acc = it->second;
  if (acc.n_per_row != cols || static_cast<int64_t>(acc.counts.size()) != w.experts) {
    if (status_.ok())
      status_ = make_error(ErrorCode::kInvalidArgument,
                           "tensor '{}': the model has {} matrices of {} inputs but the earlier "
                           "imatrix has {} of {}",
                           w.name, w.experts, cols, acc.counts.size(), acc.n_per_row);
    return nullptr;
  }
  return &acc;
}

void ImatrixCollector::on_matmul(const WeightRef& w, const float* x, int64_t rows, int64_t cols,
                                 std::span<const int32_t> expert_of_row) {
  if (rows <= 0 || !wanted(w.name)) return;
  Accumulator* acc = accumulator_for(w, cols);
  if (acc == nullptr) return;
  add_rows(*acc, x, rows, cols, expert_of_row);
}

void ImatrixCollector::on_square_sums(const WeightRef& w, std::span<const double> sum_sq,
                                      std::span<const int64_t> rows_per_expert) {
  if (!wanted(w.name) || rows_per_expert.empty()) return;
  const int64_t cols = static_cast<int64_t>(sum_sq.size() / rows_per_expert.size());
  Accumulator* acc = accumulator_for(w, cols);
  if (acc == nullptr) return;
  if (acc->sum_sq.size() != sum_sq.size()) {
    if (status_.ok())
      status_ = make_error(ErrorCode::kInternal, "tensor '{}': {} sums for {} matrices of {}",
                           w.name, sum_sq.size(), acc->counts.size(), cols);
    return;
  }
  for (size_t i = 0; i < sum_sq.size(); ++i) acc->sum_sq[i] += sum_sq[i];
  for (size_t e = 0; e < rows_per_expert.size(); ++e) acc->counts[e] += rows_per_expert[e];
}

void ImatrixCollector::add_rows(Accumulator& acc, const float* x, int64_t rows, int64_t cols,
                                std::span<const int32_t> expert_of_row) {
  const auto n_mat = static_cast<int32_t>(acc.counts.size());
  // The engine groups MoE rows by expert; each run of one expert goes into its slice.
  int64_t begin = 0;
  while (begin < rows) {
    int64_t end = rows;
    int32_t expert = 0;
    if (!expert_of_row.empty()) {
      expert = expert_of_row[static_cast<size_t>(begin)];
      end = begin + 1;
      while (end < rows && expert_of_row[static_cast<size_t>(end)] == expert) ++end;
    }
    if (expert < 0 || expert >= n_mat) {
      if (status_.ok())
        status_ = make_error(ErrorCode::kInternal, "expert {} out of range for {} matrices", expert,
                             n_mat);
      return;
    }
    double* sums = acc.sum_sq.data() + static_cast<int64_t>(expert) * cols;
    const float* xs = x + begin * cols;
    const int64_t n = end - begin;
    if (pool_ != nullptr && n * cols >= kParallelMinWork) {
      pool_->parallel_for(cols, kChannelGrain, [&](int64_t c0, int64_t c1, int) {
        accumulate_squares(xs, n, cols, c0, c1, sums);
      });
    } else {
      accumulate_squares(xs, n, cols, 0, cols, sums);
    }
    acc.counts[static_cast<size_t>(expert)] += n;
    begin = end;
  }
}

void ImatrixCollector::seed(const Imatrix& previous) {
  for (const auto& e : previous.entries) {
    Accumulator acc;
    acc.n_per_row = e.n_per_row;
    acc.sum_sq = e.sum_sq;
    acc.counts = e.counts;
    // Per-chunk totals continue only when the earlier file has them for every chunk.
    if (static_cast<int64_t>(e.chunk_counts.size()) == previous.chunk_count) {
      acc.chunk_sum_sq = e.chunk_sum_sq;
      acc.chunk_counts = e.chunk_counts;
    } else {
      acc.chunk_sum_sq.assign(static_cast<size_t>(previous.chunk_count), 0.0);
      acc.chunk_counts.assign(static_cast<size_t>(previous.chunk_count), 0);
    }
    acc.closed_sum_sq = std::accumulate(acc.sum_sq.begin(), acc.sum_sq.end(), 0.0);
    acc.closed_count = e.total_count();
    acc_[e.name] = std::move(acc);
  }
  chunks_ = previous.chunk_count;
  seeded_datasets_ = previous.datasets;
}

void ImatrixCollector::end_chunk() {
  for (auto& [name, acc] : acc_) {
    const double total = std::accumulate(acc.sum_sq.begin(), acc.sum_sq.end(), 0.0);
    int64_t count = 0;
    for (int64_t c : acc.counts) count += c;
    acc.chunk_sum_sq.push_back(std::max(0.0, total - acc.closed_sum_sq));
    acc.chunk_counts.push_back(count - acc.closed_count);
    acc.closed_sum_sq = total;
    acc.closed_count = count;
  }
  ++chunks_;
}

Imatrix ImatrixCollector::result(int64_t chunk_size,
                                 const std::vector<std::string>& datasets) const {
  Imatrix out;
  out.chunk_count = chunks_;
  out.chunk_size = chunk_size;
  out.datasets = seeded_datasets_;
  out.datasets.insert(out.datasets.end(), datasets.begin(), datasets.end());
  for (const auto& [name, acc] : acc_) {
    ImatrixEntry e;
    e.name = name;
    e.n_per_row = acc.n_per_row;
    e.sum_sq = acc.sum_sq;
    e.counts = acc.counts;
    e.chunk_sum_sq = acc.chunk_sum_sq;
    e.chunk_counts = acc.chunk_counts;
    out.entries.push_back(std::move(e));
  }
  return out;  // std::map kept the names sorted
}

namespace {

int64_t chunks_to_run(int64_t n_tokens, const CollectOptions& o) {
  int64_t n = n_tokens / o.n_ctx - o.skip_chunks;
  if (o.max_chunks >= 0) n = std::min(n, o.max_chunks - o.skip_chunks);
  return std::max<int64_t>(n, 0);
}

Status check_options(std::span<const int32_t> tokens, const CollectOptions& o) {
  if (o.n_ctx < 2)
    return make_error(ErrorCode::kInvalidArgument, "context size {} is too small", o.n_ctx);
  if (static_cast<int64_t>(tokens.size()) < o.n_ctx)
    return make_error(ErrorCode::kInvalidArgument,
                      "the calibration data has {} tokens, less than one chunk of {}",
                      tokens.size(), o.n_ctx);
  return ok_status();
}

}  // namespace

Expected<CollectResult> collect_imatrix(Engine& engine, ImatrixCollector& collector,
                                        std::span<const int32_t> tokens,
                                        const CollectOptions& options) {
  QMIX_TRY(check_options(tokens, options));
  const int64_t n_chunks = chunks_to_run(static_cast<int64_t>(tokens.size()), options);
  const auto start = std::chrono::steady_clock::now();
  CollectResult result;
  std::vector<int32_t> chunk(static_cast<size_t>(options.n_ctx));
  const int64_t logits_from =
      collector.output_weight() == OutputWeight::kCollect ? 0 : options.n_ctx - 1;
  for (int64_t i = 0; i < n_chunks; ++i) {
    if (options.cancel != nullptr && options.cancel->cancelled()) {
      result.cancelled = true;
      break;
    }
    const auto first = tokens.begin() + (options.skip_chunks + i) * options.n_ctx;
    std::copy(first, first + options.n_ctx, chunk.begin());
    if (options.bos_token) chunk[0] = *options.bos_token;
    // Every position passes through every layer; the output matrix sees every position only
    // when it is collected (llama-imatrix asks for all logits), else just the last one.
    QMIX_TRY(engine.eval(chunk, logits_from));
    QMIX_TRY(collector.status());
    collector.end_chunk();
    ++result.chunks_run;
    if (options.progress != nullptr)
      options.progress->update(static_cast<uint64_t>(i + 1), static_cast<uint64_t>(n_chunks),
                               "chunks");
    if (options.save_every > 0 && options.checkpoint && (i + 1) % options.save_every == 0 &&
        i + 1 < n_chunks)
      QMIX_TRY(options.checkpoint(collector.result(options.n_ctx, options.datasets)));
  }
  if (options.progress != nullptr) options.progress->finish();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (result.seconds > 0)
    result.tokens_per_second =
        static_cast<double>(result.chunks_run * options.n_ctx) / result.seconds;
  result.imatrix = collector.result(options.n_ctx, options.datasets);
  return result;
}

}  // namespace qmix
