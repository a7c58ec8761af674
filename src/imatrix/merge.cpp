#include "imatrix/merge.h"

#include <map>

namespace qmix {

namespace {

// Brings a flat legacy entry (one matrix of n_mat × n_per_row values) to `shape`'s layout.
Status match_shape(ImatrixEntry& e, const ImatrixEntry& shape) {
  if (e.n_per_row == shape.n_per_row && e.n_mat() == shape.n_mat()) return ok_status();
  if (e.sum_sq.size() == shape.sum_sq.size() && e.n_mat() == 1) {
    e.n_per_row = shape.n_per_row;
    e.counts.assign(static_cast<size_t>(shape.n_mat()), e.counts[0]);
    return ok_status();
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "tensor '{}': {} matrices of {} channels in one input, {} of {} in another",
                    e.name, e.n_mat(), e.n_per_row, shape.n_mat(), shape.n_per_row);
}

void add_into(ImatrixEntry& into, const ImatrixEntry& e) {
  for (size_t i = 0; i < into.sum_sq.size(); ++i) into.sum_sq[i] += e.sum_sq[i];
  if (!into.sum.empty() && e.sum.size() == into.sum.size()) {
    for (size_t i = 0; i < into.sum.size(); ++i) into.sum[i] += e.sum[i];
  } else {
    into.sum.clear();  // Σx is only meaningful when every input has it
  }
  for (size_t i = 0; i < into.counts.size(); ++i) into.counts[i] += e.counts[i];
  into.chunk_sum_sq.insert(into.chunk_sum_sq.end(), e.chunk_sum_sq.begin(), e.chunk_sum_sq.end());
  into.chunk_counts.insert(into.chunk_counts.end(), e.chunk_counts.begin(), e.chunk_counts.end());
}

// Per-chunk statistics stay only if each tensor has one value per chunk of the merged file.
void drop_incomplete_chunk_stats(Imatrix& out) {
  bool complete = true;
  for (const auto& e : out.entries)
    complete = complete && static_cast<int64_t>(e.chunk_counts.size()) == out.chunk_count;
  if (complete) return;
  for (auto& e : out.entries) {
    e.chunk_sum_sq.clear();
    e.chunk_counts.clear();
  }
}

}  // namespace

Expected<Imatrix> merge_imatrices(std::span<const Imatrix> inputs) {
  if (inputs.empty()) return make_error(ErrorCode::kInvalidArgument, "nothing to merge");
  std::map<std::string, ImatrixEntry> merged;
  Imatrix out;
  out.chunk_size = inputs[0].chunk_size;
  for (const auto& in : inputs) {
    out.chunk_count += in.chunk_count;
    if (in.chunk_size != out.chunk_size) out.chunk_size = 0;  // mixed: unknown
    out.datasets.insert(out.datasets.end(), in.datasets.begin(), in.datasets.end());
    for (const auto& e : in.entries) {
      auto it = merged.find(e.name);
      if (it == merged.end()) {
        merged.emplace(e.name, e);
        continue;
      }
      ImatrixEntry next = e;
      // Whichever side has the per-expert shape decides the layout.
      if (it->second.n_mat() == 1 && next.n_mat() > 1) std::swap(it->second, next);
      QMIX_TRY(match_shape(next, it->second));
      add_into(it->second, next);
    }
  }
  for (auto& [name, e] : merged) out.entries.push_back(std::move(e));
  drop_incomplete_chunk_stats(out);
  QMIX_TRY(out.validate());
  return out;
}

}  // namespace qmix
