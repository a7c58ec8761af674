#include "recipe/plan_sensitivity.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <fstream>
#include <mutex>
#include <sstream>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/content_hash.h"
#include "imatrix/stats.h"
#include "recipe/recipe.h"

namespace qmix {
namespace {

// Bumped whenever the measurement changes meaning, so old cache entries are never reused.
constexpr int kSensitivityVersion = 1;

// Pooled mean importance of a tensor (stats.h's `mean`): Σ_e Σx² / Σ_e rows / channels.
double pooled_mean(const ImatrixEntry& e) {
  const int64_t rows = e.total_count();
  if (rows <= 0 || e.n_per_row <= 0) return 0;
  double sum = 0;
  for (const double v : e.sum_sq) sum += v;
  return sum / static_cast<double>(rows) / static_cast<double>(e.n_per_row);
}

// Geometric mean of the pooled means of `names` in one file (compare.h's G).
double geometric_scale(const Imatrix& m, const std::vector<std::string>& names) {
  double log_sum = 0;
  int64_t n = 0;
  for (const std::string& name : names) {
    const double mean = pooled_mean(*m.find(name));
    if (mean <= 0) continue;
    log_sum += std::log(mean);
    ++n;
  }
  return n == 0 ? 1.0 : std::exp(log_sum / static_cast<double>(n));
}

std::vector<std::string> shared_names(std::span<const WeightedImatrix> inputs) {
  std::vector<std::string> names;
  for (const ImatrixEntry& e : inputs.front().imatrix->entries) {
    const bool everywhere = std::ranges::all_of(
        inputs, [&](const WeightedImatrix& in) { return in.imatrix->find(e.name) != nullptr; });
    if (everywhere) names.push_back(e.name);
  }
  return names;
}

}  // namespace

Expected<ImportanceMix> ImportanceMix::create(std::span<const WeightedImatrix> inputs) {
  ImportanceMix mix;
  if (inputs.empty()) return mix;
  double total = 0;
  for (const WeightedImatrix& in : inputs) {
    QMIX_CHECK(in.imatrix != nullptr);
    if (!(in.weight >= 0) || !std::isfinite(in.weight))
      return make_error(ErrorCode::kInvalidArgument,
                        "imatrix mix weights must be finite and >= 0 (got {})", in.weight);
    total += in.weight;
  }
  if (total <= 0)
    return make_error(ErrorCode::kInvalidArgument, "imatrix mix weights must not all be 0");
  const std::vector<std::string> names = shared_names(inputs);
  for (const WeightedImatrix& in : inputs)
    mix.inputs_.push_back(
        {in.imatrix, in.weight / total, 1.0 / geometric_scale(*in.imatrix, names)});
  return mix;
}

ErrorWeights ImportanceMix::weights_for(std::string_view name, int64_t cols, int64_t n_mat) const {
  ErrorWeights out;
  double used = 0;
  std::vector<double> channel(static_cast<size_t>(cols * n_mat), 0.0);
  std::vector<double> activity(static_cast<size_t>(n_mat), 0.0);
  for (const Input& in : inputs_) {
    const ImatrixEntry* e = in.imatrix->find(name);
    if (e == nullptr || e->n_per_row != cols || e->n_mat() != n_mat || e->total_count() <= 0)
      continue;
    used += in.weight;
    const double mean_count =
        static_cast<double>(e->total_count()) / static_cast<double>(e->n_mat());
    for (int64_t m = 0; m < n_mat; ++m) {
      const std::vector<float> sq = e->mean_sq(m);
      for (int64_t j = 0; j < cols; ++j)
        channel[static_cast<size_t>(m * cols + j)] +=
            in.weight * in.scale * sq[static_cast<size_t>(j)];
      activity[static_cast<size_t>(m)] +=
          in.weight * static_cast<double>(e->counts[static_cast<size_t>(m)]) / mean_count;
    }
  }
  if (used <= 0) return out;  // uniform
  out.channel.reserve(channel.size());
  for (const double v : channel) out.channel.push_back(static_cast<float>(v / used));
  if (n_mat > 1)
    for (const double a : activity) out.activity.push_back(a / used);
  return out;
}

double TensorSensitivity::relative(GgmlType type) const {
  const auto it = error.find(type);
  if (it == error.end()) return NAN;
  return energy > 0 ? it->second / energy : 0.0;
}

std::vector<int64_t> sampled_rows(int64_t rows, int64_t per_matrix) {
  std::vector<int64_t> out;
  if (per_matrix >= rows) {
    for (int64_t r = 0; r < rows; ++r) out.push_back(r);
    return out;
  }
  for (int64_t i = 0; i < per_matrix; ++i) out.push_back((2 * i + 1) * rows / (2 * per_matrix));
  return out;
}

namespace {

// The sampled rows of every matrix as f32, and what the cache key is made of.
struct Sample {
  int64_t per_matrix = 0;
  std::vector<float> values;  // n_mat × per_matrix × cols
  uint64_t key = 0;
};

Expected<Sample> take_sample(const SensitivityTensor& t, const SensitivityOptions& o) {
  Sample s;
  const int64_t per_tensor = std::max<int64_t>(o.max_rows, 1);
  s.per_matrix = std::min(t.rows, std::max<int64_t>(8, (per_tensor + t.n_mat - 1) / t.n_mat));
  const std::vector<int64_t> rows = sampled_rows(t.rows, s.per_matrix);
  const QuantType& src = quant_type(t.source_type);
  const auto row_bytes = src.row_bytes(t.cols);
  const DequantizeRowFn dequantize = active_kernels(src).dequantize;
  if (!row_bytes || dequantize == nullptr)
    return make_error(ErrorCode::kUnsupported, "{}: cannot read {} rows of {} values", t.name,
                      src.name, t.cols);
  QMIX_CHECK(t.data.size() >= *row_bytes * static_cast<uint64_t>(t.rows * t.n_mat));
  s.values.resize(static_cast<size_t>(t.n_mat * s.per_matrix * t.cols));
  ContentHash h;
  for (int64_t m = 0; m < t.n_mat; ++m)
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto bytes = t.data.subspan(
          static_cast<size_t>(*row_bytes * static_cast<uint64_t>(m * t.rows + rows[i])),
          static_cast<size_t>(*row_bytes));
      h.add(bytes);
      const size_t at = static_cast<size_t>((m * s.per_matrix + static_cast<int64_t>(i)) * t.cols);
      dequantize(bytes.data(), s.values.data() + at, t.cols);
    }
  for (const float v : s.values)
    if (!std::isfinite(v)) return make_error(ErrorCode::kBadData, "{}: non-finite weight", t.name);
  for (const int64_t v : {int64_t{kSensitivityVersion}, static_cast<int64_t>(t.source_type), t.cols,
                          t.rows, t.n_mat, s.per_matrix, static_cast<int64_t>(o.algorithm)})
    h.add_value(v);
  h.add_values(t.quant_importance);
  h.add_values(std::span<const float>(t.weights.channel));
  h.add_values(std::span<const double>(t.weights.activity));
  s.key = h.digest();
  return s;
}

std::filesystem::path cache_path(const SensitivityOptions& o, uint64_t key) {
  return o.cache_dir / fmt::format("{:016x}.sens", key);
}

// Reads a cache entry ("qmix-sensitivity V", "energy E", "TYPE ERROR" lines); any problem is a
// miss, never an error: the entry is simply measured again.
void read_cache(const std::filesystem::path& path, TensorSensitivity& out) {
  std::ifstream in(path);
  std::string word;
  int version = 0;
  if (!(in >> word >> version) || word != "qmix-sensitivity" || version != kSensitivityVersion)
    return;
  double energy = 0;
  if (!(in >> word >> energy) || word != "energy") return;
  std::unordered_map<GgmlType, double> errors;
  double value = 0;
  while (in >> word >> value) {
    auto type = quant_type_by_name(word);
    if (!type.ok() || !std::isfinite(value)) return;
    errors[(*type)->id] = value;
  }
  out.energy = energy;
  out.error = std::move(errors);
}

Status write_cache(const std::filesystem::path& path, const TensorSensitivity& s) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  std::string text =
      fmt::format("qmix-sensitivity {}\nenergy {:.17g}\n", kSensitivityVersion, s.energy);
  std::vector<std::pair<GgmlType, double>> sorted(s.error.begin(), s.error.end());
  std::ranges::sort(sorted);
  for (const auto& [type, err] : sorted)
    text += fmt::format("{} {:.17g}\n", quant_type(type).name, err);
  QMIX_TRY_ASSIGN(AtomicFile f, AtomicFile::create(path));
  QMIX_TRY(f.write(std::as_bytes(std::span(text.data(), text.size()))));
  return f.commit();
}

double channel_weight(const ErrorWeights& w, int64_t m, int64_t cols, int64_t j) {
  return w.channel.empty() ? 1.0 : w.channel[static_cast<size_t>(m * cols + j)];
}

double activity(const ErrorWeights& w, int64_t m) {
  return w.activity.empty() ? 1.0 : w.activity[static_cast<size_t>(m)];
}

double sample_energy(const SensitivityTensor& t, const Sample& s) {
  double total = 0;
  for (int64_t m = 0; m < t.n_mat; ++m) {
    double e = 0;
    for (int64_t r = 0; r < s.per_matrix; ++r) {
      const float* w = s.values.data() + (m * s.per_matrix + r) * t.cols;
      for (int64_t j = 0; j < t.cols; ++j)
        e += channel_weight(t.weights, m, t.cols, j) * static_cast<double>(w[j]) * w[j];
    }
    total += activity(t.weights, m) * e;
  }
  return total;
}

// Quantizes the sample to `type` as quantize would and returns the weighted squared error.
Expected<double> sample_error(const SensitivityTensor& t, const Sample& s, GgmlType type,
                              const SensitivityOptions& o) {
  const QuantType& qt = quant_type(type);
  const auto row_bytes = qt.row_bytes(t.cols);
  if (!row_bytes)
    return make_error(ErrorCode::kInvalidArgument, "{}: rows of {} values do not fit {}", t.name,
                      t.cols, qt.name);
  std::vector<std::byte> packed(
      static_cast<size_t>(*row_bytes * static_cast<uint64_t>(s.per_matrix)));
  std::vector<float> back(static_cast<size_t>(s.per_matrix * t.cols));
  QuantizeOptions qo;
  qo.algorithm = o.algorithm;
  double total = 0;
  for (int64_t m = 0; m < t.n_mat; ++m) {
    const auto src = std::span<const float>(s.values).subspan(
        static_cast<size_t>(m * s.per_matrix * t.cols), back.size());
    const auto im = t.quant_importance.empty()
                        ? t.quant_importance
                        : t.quant_importance.subspan(static_cast<size_t>(m * t.cols),
                                                     static_cast<size_t>(t.cols));
    auto status = quantize_rows(qt, src, s.per_matrix, t.cols, im, packed, qo);
    if (!status.ok()) return status.error().with_context(t.name);
    QMIX_TRY(dequantize_rows(qt, packed, s.per_matrix, t.cols, back));
    double e = 0;
    for (int64_t r = 0; r < s.per_matrix; ++r)
      for (int64_t j = 0; j < t.cols; ++j) {
        const size_t at = static_cast<size_t>(r * t.cols + j);
        const double d = static_cast<double>(src[at]) - back[at];
        e += channel_weight(t.weights, m, t.cols, j) * d * d;
      }
    total += activity(t.weights, m) * e;
  }
  return total;
}

}  // namespace

Expected<TensorSensitivity> measure_tensor(const SensitivityTensor& t,
                                           const SensitivityOptions& o) {
  QMIX_TRY_ASSIGN(const Sample s, take_sample(t, o));
  TensorSensitivity out;
  out.name = t.name;
  out.total_rows = t.rows * t.n_mat;
  out.sampled_rows = s.per_matrix * t.n_mat;
  const double scale = static_cast<double>(t.rows) / static_cast<double>(s.per_matrix);
  const std::filesystem::path path = o.cache_dir.empty() ? "" : cache_path(o, s.key);
  if (!path.empty()) read_cache(path, out);
  bool measured = false;
  if (out.error.empty()) out.energy = sample_energy(t, s) * scale;
  for (const GgmlType type : t.types) {
    if (out.error.contains(type)) continue;
    QMIX_TRY_ASSIGN(const double e, sample_error(t, s, type, o));
    out.error[type] = e * scale;
    measured = true;
  }
  out.from_cache = !path.empty() && !measured;
  if (!path.empty() && measured) {
    const Status written = write_cache(path, out);
    if (!written.ok() && o.warnings != nullptr)
      o.warnings->warn(fmt::format("sensitivity cache: {}", written.error().message));
  }
  return out;
}

Expected<std::vector<TensorSensitivity>> measure_tensors(std::span<const SensitivityTensor> tensors,
                                                         const SensitivityOptions& o) {
  std::vector<TensorSensitivity> out(tensors.size());
  std::vector<Status> status(tensors.size());
  std::atomic<uint64_t> done{0};
  std::mutex report;
  auto one = [&](int64_t i) {
    if (o.cancel != nullptr && o.cancel->cancelled()) {
      status[static_cast<size_t>(i)] = make_error(ErrorCode::kCancelled, "cancelled");
      return;
    }
    auto r = measure_tensor(tensors[static_cast<size_t>(i)], o);
    if (r.ok())
      out[static_cast<size_t>(i)] = std::move(r).value();
    else
      status[static_cast<size_t>(i)] = r.error();
    const uint64_t n = ++done;
    if (o.progress == nullptr) return;
    const std::lock_guard lock(report);
    o.progress->update(n, tensors.size(), tensors[static_cast<size_t>(i)].name);
  };
  const auto n = static_cast<int64_t>(tensors.size());
  if (o.pool != nullptr)
    o.pool->parallel_for(n, 1, [&](int64_t b, int64_t e, int) {
      for (int64_t i = b; i < e; ++i) one(i);
    });
  else
    for (int64_t i = 0; i < n; ++i) one(i);
  for (const Status& s : status)
    if (!s.ok()) return s.error();
  if (o.progress != nullptr) o.progress->finish();
  return out;
}

}  // namespace qmix
