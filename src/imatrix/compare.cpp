#include "imatrix/compare.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "imatrix/stats.h"

namespace qmix {

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::kDemote:
      return "demote";
    case Verdict::kPromote:
      return "promote";
    case Verdict::kKeep:
      break;
  }
  return "keep";
}

namespace {

struct Pair {
  const ImatrixEntry* domain;
  const ImatrixEntry* generic;
};

double mean_importance(const ImatrixEntry& e) {
  const auto imp = channel_importance(e);
  double sum = 0;
  for (double v : imp) sum += v;
  return imp.empty() ? 0 : sum / static_cast<double>(imp.size());
}

// Geometric mean of the positive values among pairs where both sides are positive.
double geometric_scale(const std::vector<double>& mine, const std::vector<double>& other) {
  double log_sum = 0;
  int n = 0;
  for (size_t i = 0; i < mine.size(); ++i)
    if (mine[i] > 0 && other[i] > 0) {
      log_sum += std::log(mine[i]);
      ++n;
    }
  return n > 0 ? std::exp(log_sum / n) : 0;
}

std::vector<double> normalised_ratios(const std::vector<double>& d, const std::vector<double>& g) {
  const double gd = geometric_scale(d, g), gg = geometric_scale(g, d);
  std::vector<double> out(d.size(), NAN);
  for (size_t i = 0; i < d.size(); ++i)
    if (d[i] > 0 && g[i] > 0) out[i] = (d[i] / gd) / (g[i] / gg);
  return out;
}

// Chunks every tensor of `side` records statistics for; 0 if any lacks them.
int64_t common_chunks(const std::vector<Pair>& pairs, const ImatrixEntry* Pair::*side) {
  int64_t n = -1;
  for (const auto& p : pairs) {
    const auto k = static_cast<int64_t>((p.*side)->chunk_counts.size());
    if (n >= 0 && k != n) return 0;
    n = k;
  }
  return std::max<int64_t>(n, 0);
}

// Mean importances with chunks resampled: weights[c] = how often chunk c was drawn.
std::vector<double> resampled_means(const std::vector<Pair>& pairs, const ImatrixEntry* Pair::*side,
                                    const std::vector<int>& weights) {
  std::vector<double> out(pairs.size(), 0.0);
  for (size_t t = 0; t < pairs.size(); ++t) {
    const ImatrixEntry& e = *(pairs[t].*side);
    double s = 0, rows = 0;
    for (size_t c = 0; c < weights.size(); ++c) {
      s += weights[c] * e.chunk_sum_sq[c];
      rows += weights[c] * static_cast<double>(e.chunk_counts[c]);
    }
    out[t] = rows > 0 ? s / (rows * static_cast<double>(e.n_per_row)) : 0;
  }
  return out;
}

std::vector<int> draw_chunks(int64_t n, std::mt19937_64& rng) {
  std::vector<int> weights(static_cast<size_t>(n), 0);
  std::uniform_int_distribution<int64_t> pick(0, n - 1);
  for (int64_t i = 0; i < n; ++i) ++weights[static_cast<size_t>(pick(rng))];
  return weights;
}

double percentile(std::vector<double>& v, double q) {
  std::erase_if(v, [](double x) { return std::isnan(x); });
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

void bootstrap_intervals(const std::vector<Pair>& pairs, const CompareOptions& o,
                         ImatrixComparison& out) {
  const int64_t nd = common_chunks(pairs, &Pair::domain);
  const int64_t ng = common_chunks(pairs, &Pair::generic);
  if (o.bootstrap <= 0 || nd < 2 || ng < 2) return;
  std::mt19937_64 rng(o.seed);
  std::vector<std::vector<double>> samples(pairs.size());
  for (int b = 0; b < o.bootstrap; ++b) {
    const auto d = resampled_means(pairs, &Pair::domain, draw_chunks(nd, rng));
    const auto g = resampled_means(pairs, &Pair::generic, draw_chunks(ng, rng));
    const auto r = normalised_ratios(d, g);
    for (size_t t = 0; t < pairs.size(); ++t) samples[t].push_back(r[t]);
  }
  const double tail = (1 - o.confidence) / 2;
  for (size_t t = 0; t < pairs.size(); ++t) {
    out.tensors[t].ci_low = percentile(samples[t], tail);
    out.tensors[t].ci_high = percentile(samples[t], 1 - tail);
  }
  out.has_intervals = true;
}

void assign_verdicts(const CompareOptions& o, ImatrixComparison& out) {
  for (auto& t : out.tensors) {
    if (std::isnan(t.ratio)) continue;
    if (t.ratio < o.demote_below) t.verdict = Verdict::kDemote;
    if (t.ratio > o.promote_above) t.verdict = Verdict::kPromote;
    if (!out.has_intervals || std::isnan(t.ci_low)) continue;
    if (t.verdict == Verdict::kDemote) t.uncertain = t.ci_high >= o.demote_below;
    if (t.verdict == Verdict::kPromote) t.uncertain = t.ci_low <= o.promote_above;
  }
}

void zone_ratios(const CompareOptions& o, ImatrixComparison& out) {
  int max_block = -1;
  for (const auto& t : out.tensors) {
    if (t.block < 0) continue;
    max_block = std::max(max_block, t.block);
    if (std::find(out.kinds.begin(), out.kinds.end(), t.kind) == out.kinds.end())
      out.kinds.push_back(t.kind);
  }
  std::sort(out.kinds.begin(), out.kinds.end());
  const int size = std::max(1, o.zone_size);
  for (int first = 0; first <= max_block; first += size) {
    ZoneRatios z{first, std::min(first + size - 1, max_block), {}, NAN};
    std::vector<double> log_sum(out.kinds.size(), 0.0);
    std::vector<int> n(out.kinds.size(), 0);
    double all = 0;
    int n_all = 0;
    for (const auto& t : out.tensors) {
      if (t.block < z.first_block || t.block > z.last_block || !(t.ratio > 0)) continue;
      const auto k = static_cast<size_t>(std::find(out.kinds.begin(), out.kinds.end(), t.kind) -
                                         out.kinds.begin());
      log_sum[k] += std::log(t.ratio);
      ++n[k];
      all += std::log(t.ratio);
      ++n_all;
    }
    for (size_t k = 0; k < n.size(); ++k)
      z.ratio.push_back(n[k] ? std::exp(log_sum[k] / n[k]) : NAN);
    if (n_all > 0) z.all = std::exp(all / n_all);
    out.zones.push_back(std::move(z));
  }
}

}  // namespace

Expected<ImatrixComparison> compare_imatrices(const Imatrix& domain, const Imatrix& generic,
                                              const CompareOptions& options) {
  if (!(options.demote_below > 0) || !(options.promote_above > options.demote_below))
    return make_error(ErrorCode::kInvalidArgument,
                      "thresholds must satisfy 0 < demote ({}) < promote ({})",
                      options.demote_below, options.promote_above);
  if (!(options.confidence > 0 && options.confidence < 1))
    return make_error(ErrorCode::kInvalidArgument, "confidence {} is not in (0, 1)",
                      options.confidence);
  ImatrixComparison out;
  std::vector<Pair> pairs;
  for (const auto& d : domain.entries) {
    const ImatrixEntry* g = generic.find(d.name);
    if (g == nullptr) {
      out.only_domain.push_back(d.name);
      continue;
    }
    if (g->n_per_row * g->n_mat() != d.n_per_row * d.n_mat())
      return make_error(ErrorCode::kInvalidArgument,
                        "tensor '{}' has {} values in one file and {} in the other: not the "
                        "same model",
                        d.name, d.sum_sq.size(), g->sum_sq.size());
    pairs.push_back({&d, g});
  }
  for (const auto& g : generic.entries)
    if (domain.find(g.name) == nullptr) out.only_generic.push_back(g.name);
  if (pairs.empty())
    return make_error(ErrorCode::kInvalidArgument, "the two files share no tensor");
  std::vector<double> dm, gm;
  for (const auto& p : pairs) {
    dm.push_back(mean_importance(*p.domain));
    gm.push_back(mean_importance(*p.generic));
  }
  out.domain_scale = geometric_scale(dm, gm);
  out.generic_scale = geometric_scale(gm, dm);
  const auto ratios = normalised_ratios(dm, gm);
  for (size_t i = 0; i < pairs.size(); ++i) {
    TensorComparison t;
    t.name = pairs[i].domain->name;
    std::tie(t.block, t.kind) = block_and_kind(t.name);
    t.domain_mean = dm[i];
    t.generic_mean = gm[i];
    t.ratio = ratios[i];
    out.tensors.push_back(std::move(t));
  }
  bootstrap_intervals(pairs, options, out);
  assign_verdicts(options, out);
  zone_ratios(options, out);
  return out;
}

}  // namespace qmix
