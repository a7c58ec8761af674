#include "eval/paired.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace qmix {

Expected<PairedResult> paired_compare(std::span<const double> a, std::span<const double> b,
                                      const PairedOptions& opt) {
  if (a.size() != b.size() || a.empty())
    return make_error(ErrorCode::kInvalidArgument,
                      "paired comparison needs the same non-zero number of tokens ({} vs {})",
                      a.size(), b.size());
  const int64_t per_chunk =
      opt.tokens_per_chunk > 0 ? opt.tokens_per_chunk : static_cast<int64_t>(a.size());
  if (static_cast<int64_t>(a.size()) % per_chunk != 0)
    return make_error(ErrorCode::kInvalidArgument, "{} tokens are not whole chunks of {}", a.size(),
                      per_chunk);
  PairedResult r;
  r.tokens = static_cast<int64_t>(a.size());
  r.chunks = r.tokens / per_chunk;
  std::vector<double> chunk_sum(static_cast<size_t>(r.chunks), 0.0);
  double sum = 0, sum2 = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = b[i] - a[i];
    sum += d;
    sum2 += d * d;
    chunk_sum[i / static_cast<size_t>(per_chunk)] += d;
  }
  const double n = static_cast<double>(r.tokens);
  r.mean_delta = sum / n;
  r.std_error =
      r.tokens > 1
          ? std::sqrt(std::max(0.0, (sum2 - n * r.mean_delta * r.mean_delta) / (n - 1) / n))
          : 0.0;
  // Bootstrap: resample chunks with replacement; the mean over resampled tokens.
  std::mt19937_64 rng(opt.seed);
  std::uniform_int_distribution<int64_t> pick(0, r.chunks - 1);
  std::vector<double> means(static_cast<size_t>(opt.bootstrap_samples));
  for (auto& m : means) {
    double s = 0;
    for (int64_t c = 0; c < r.chunks; ++c) s += chunk_sum[static_cast<size_t>(pick(rng))];
    m = s / n;
  }
  std::sort(means.begin(), means.end());
  const double tail = (1.0 - opt.confidence) / 2.0;
  const auto at = [&](double p) {
    return means[std::min(means.size() - 1,
                          static_cast<size_t>(p * static_cast<double>(means.size())))];
  };
  r.ci_low = at(tail);
  r.ci_high = at(1.0 - tail);
  r.distinguishable = r.chunks > 1 && (r.ci_low > 0 || r.ci_high < 0);
  return r;
}

}  // namespace qmix
