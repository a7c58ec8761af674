#include "imatrix/imatrix.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace qmix {

namespace {
constexpr int64_t kDefaultChunkSize = 512;  // llama-imatrix's classic -c default
}  // namespace

int64_t ImatrixEntry::total_count() const {
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  return total;
}

std::span<const double> ImatrixEntry::sum_sq_of(int64_t mat) const {
  return std::span<const double>(sum_sq).subspan(static_cast<size_t>(mat * n_per_row),
                                                 static_cast<size_t>(n_per_row));
}

std::vector<float> ImatrixEntry::mean_sq(int64_t mat) const {
  const int64_t count = counts[static_cast<size_t>(mat)];
  std::vector<float> out(static_cast<size_t>(n_per_row), 1.0f);
  if (count <= 0) return out;
  const auto sums = sum_sq_of(mat);
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<float>(sums[i] / static_cast<double>(count));
  return out;
}

std::vector<float> ImatrixEntry::mean_sq_all() const {
  std::vector<float> out;
  out.reserve(sum_sq.size());
  for (int64_t m = 0; m < n_mat(); ++m) {
    const auto one = mean_sq(m);
    out.insert(out.end(), one.begin(), one.end());
  }
  return out;
}

Status ImatrixEntry::validate() const {
  if (n_per_row <= 0 || counts.empty())
    return make_error(ErrorCode::kCorrupt, "tensor '{}': empty importance entry", name);
  if (sum_sq.size() != counts.size() * static_cast<uint64_t>(n_per_row))
    return make_error(ErrorCode::kCorrupt, "tensor '{}': {} sums for {} matrices of {} channels",
                      name, sum_sq.size(), counts.size(), n_per_row);
  if (!sum.empty() && sum.size() != sum_sq.size())
    return make_error(ErrorCode::kCorrupt, "tensor '{}': {} sums of x but {} sums of x²", name,
                      sum.size(), sum_sq.size());
  for (size_t i = 0; i < sum_sq.size(); ++i)
    if (!std::isfinite(sum_sq[i]) || sum_sq[i] < 0)
      return make_error(ErrorCode::kBadData, "tensor '{}': invalid sum of squares {} at index {}",
                        name, sum_sq[i], i);
  for (size_t i = 0; i < sum.size(); ++i)
    if (!std::isfinite(sum[i]))
      return make_error(ErrorCode::kBadData, "tensor '{}': invalid sum {} at index {}", name,
                        sum[i], i);
  if (chunk_sum_sq.size() != chunk_counts.size())
    return make_error(ErrorCode::kCorrupt, "tensor '{}': {} chunk sums but {} chunk counts", name,
                      chunk_sum_sq.size(), chunk_counts.size());
  for (size_t i = 0; i < chunk_sum_sq.size(); ++i)
    if (!std::isfinite(chunk_sum_sq[i]) || chunk_sum_sq[i] < 0 || chunk_counts[i] < 0)
      return make_error(ErrorCode::kBadData, "tensor '{}': invalid statistics of chunk {}", name,
                        i);
  for (size_t i = 0; i < counts.size(); ++i)
    if (counts[i] < 0)
      return make_error(ErrorCode::kBadData, "tensor '{}': negative count {} for matrix {}", name,
                        counts[i], i);
  return ok_status();
}

const ImatrixEntry* Imatrix::find(std::string_view name) const {
  const auto it =
      std::lower_bound(entries.begin(), entries.end(), name,
                       [](const ImatrixEntry& e, std::string_view n) { return e.name < n; });
  return (it != entries.end() && it->name == name) ? &*it : nullptr;
}

ImatrixEntry* Imatrix::find(std::string_view name) {
  return const_cast<ImatrixEntry*>(std::as_const(*this).find(name));
}

void Imatrix::sort_entries() {
  std::sort(entries.begin(), entries.end(),
            [](const ImatrixEntry& a, const ImatrixEntry& b) { return a.name < b.name; });
}

Status Imatrix::validate() const {
  for (size_t i = 0; i < entries.size(); ++i) {
    QMIX_TRY(entries[i].validate());
    if (i > 0 && entries[i - 1].name >= entries[i].name)
      return make_error(ErrorCode::kCorrupt, "tensor '{}' appears twice or out of order",
                        entries[i].name);
  }
  if (chunk_count < 0 || chunk_size < 0)
    return make_error(ErrorCode::kCorrupt, "negative chunk count {} or chunk size {}", chunk_count,
                      chunk_size);
  return ok_status();
}

int64_t Imatrix::effective_chunk_size() const {
  if (chunk_size > 0) return chunk_size;
  int64_t max_count = 0;
  for (const auto& e : entries)
    for (int64_t c : e.counts) max_count = std::max(max_count, c);
  if (chunk_count > 0 && max_count >= chunk_count) return max_count / chunk_count;
  return kDefaultChunkSize;
}

}  // namespace qmix
