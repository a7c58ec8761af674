#include "imatrix/stats.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "model/tensor_roles.h"

namespace qmix {

std::vector<double> channel_importance(const ImatrixEntry& e) {
  std::vector<double> out(static_cast<size_t>(e.n_per_row), 0.0);
  const int64_t rows = e.total_count();
  if (rows <= 0) return out;
  for (int64_t m = 0; m < e.n_mat(); ++m) {
    const auto sums = e.sum_sq_of(m);
    for (size_t c = 0; c < out.size(); ++c) out[c] += sums[c];
  }
  for (double& v : out) v /= static_cast<double>(rows);
  return out;
}

std::pair<int, std::string> block_and_kind(const std::string& name) {
  const TensorName parsed = parse_tensor_name(name);
  if (parsed.block < 0) return {-1, name};
  // Drop the "blk.N." prefix whatever the role table knows about the rest.
  const std::string prefix = fmt::format("blk.{}.", parsed.block);
  return {parsed.block, name.starts_with(prefix) ? name.substr(prefix.size()) : name};
}

namespace {

TensorStats tensor_stats(const ImatrixEntry& e) {
  TensorStats s;
  s.name = e.name;
  std::tie(s.block, s.kind) = block_and_kind(e.name);
  const auto imp = channel_importance(e);
  s.channels = static_cast<int64_t>(imp.size());
  s.rows = e.total_count();
  s.sum = std::accumulate(imp.begin(), imp.end(), 0.0);
  s.mean = s.channels > 0 ? s.sum / static_cast<double>(s.channels) : 0;
  s.max = imp.empty() ? 0 : *std::max_element(imp.begin(), imp.end());
  double var = 0;
  int64_t dominant = 0;
  for (double v : imp) {
    var += (v - s.mean) * (v - s.mean);
    if (s.mean > 0 && v >= kDominantFactor * s.mean) ++dominant;
  }
  var = s.channels > 0 ? var / static_cast<double>(s.channels) : 0;
  s.cv = s.mean > 0 ? std::sqrt(var) / s.mean : 0;
  s.dominant = s.channels > 0 ? static_cast<double>(dominant) / static_cast<double>(s.channels) : 0;
  return s;
}

std::vector<ZoneStats> zone_stats(const std::vector<TensorStats>& tensors, int zone_size) {
  std::vector<std::string> kinds;
  int max_block = -1;
  for (const auto& t : tensors) {
    if (t.block < 0) continue;
    max_block = std::max(max_block, t.block);
    if (std::find(kinds.begin(), kinds.end(), t.kind) == kinds.end()) kinds.push_back(t.kind);
  }
  std::sort(kinds.begin(), kinds.end());
  const int size = std::max(1, zone_size);
  std::vector<ZoneStats> zones;
  for (int first = 0; first <= max_block; first += size) {
    ZoneStats z;
    z.first_block = first;
    z.last_block = std::min(first + size - 1, max_block);
    z.kinds = kinds;
    std::vector<double> sum(kinds.size(), 0.0);
    std::vector<int> n(kinds.size(), 0);
    double all = 0;
    int n_all = 0;
    for (const auto& t : tensors) {
      if (t.block < z.first_block || t.block > z.last_block) continue;
      const auto k =
          static_cast<size_t>(std::find(kinds.begin(), kinds.end(), t.kind) - kinds.begin());
      sum[k] += t.mean;
      ++n[k];
      all += t.mean;
      ++n_all;
    }
    for (size_t k = 0; k < kinds.size(); ++k) z.mean.push_back(n[k] ? sum[k] / n[k] : NAN);
    z.all = n_all ? all / n_all : NAN;
    zones.push_back(std::move(z));
  }
  return zones;
}

}  // namespace

ImatrixStats compute_stats(const Imatrix& imatrix, const StatsOptions& options) {
  ImatrixStats out;
  double total = 0;
  for (const auto& e : imatrix.entries) {
    out.tensors.push_back(tensor_stats(e));
    total += out.tensors.back().mean;
  }
  for (auto& t : out.tensors) t.share = total > 0 ? t.mean / total : 0;
  out.zones = zone_stats(out.tensors, options.zone_size);
  out.top.resize(out.tensors.size());
  std::iota(out.top.begin(), out.top.end(), size_t{0});
  std::stable_sort(out.top.begin(), out.top.end(),
                   [&](size_t a, size_t b) { return out.tensors[a].mean > out.tensors[b].mean; });
  out.top.resize(std::min(out.top.size(), static_cast<size_t>(std::max(0, options.top))));
  return out;
}

}  // namespace qmix
