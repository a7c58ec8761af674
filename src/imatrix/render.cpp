#include "imatrix/render.h"

#include <cmath>

#include <fmt/format.h>

namespace qmix {

namespace {

nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

std::string fmt_num(double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : "-"; }

std::string zone_label(int first, int last) {
  return first == last ? fmt::format("{}", first) : fmt::format("{}-{}", first, last);
}

size_t name_width(const std::vector<std::string>& names, size_t at_least) {
  size_t w = at_least;
  for (const auto& n : names) w = std::max(w, n.size());
  return w;
}

// Rows = kinds, columns = zones (a deep model has many zones but few kinds).
template <class Zone, class Value>
std::string zone_table(const std::vector<std::string>& kinds, const std::vector<Zone>& zones,
                       Value value_of, double Zone::*all) {
  const size_t w = name_width(kinds, 8);
  std::string out = fmt::format("{:<{}}", "kind", w);
  for (const auto& z : zones)
    out += fmt::format(" {:>10}", zone_label(z.first_block, z.last_block));
  out += "\n";
  for (size_t k = 0; k < kinds.size(); ++k) {
    out += fmt::format("{:<{}}", kinds[k], w);
    for (const auto& z : zones) out += fmt::format(" {:>10}", fmt_num(value_of(z, k)));
    out += "\n";
  }
  out += fmt::format("{:<{}}", "(all)", w);
  for (const auto& z : zones) out += fmt::format(" {:>10}", fmt_num(z.*all));
  return out + "\n";
}

std::string header_line(const Imatrix& im) {
  std::string datasets;
  for (const auto& d : im.datasets) datasets += (datasets.empty() ? "" : ", ") + d;
  return fmt::format("{} tensors, {} chunks of {} tokens, datasets: {}", im.entries.size(),
                     im.chunk_count, im.chunk_size > 0 ? fmt::format("{}", im.chunk_size) : "?",
                     datasets.empty() ? "-" : datasets);
}

}  // namespace

std::string stats_text(const ImatrixStats& stats, const Imatrix& imatrix) {
  std::vector<std::string> names;
  for (const auto& t : stats.tensors) names.push_back(t.name);
  const size_t w = name_width(names, 6);
  std::string out = header_line(imatrix) + "\n\n";
  out += fmt::format("{:<{}} {:>8} {:>9} {:>10} {:>10} {:>9} {:>7} {:>9} {:>7}\n", "tensor", w,
                     "channels", "rows", "sum", "mean", "max/mean", "cv", "dominant", "share");
  for (const auto& t : stats.tensors)
    out += fmt::format(
        "{:<{}} {:>8} {:>9} {:>10.4g} {:>10.4g} {:>9.3g} {:>7.3g} {:>8.2f}% {:>6.2f}%\n", t.name, w,
        t.channels, t.rows, t.sum, t.mean, t.max_over_mean(), t.cv, 100 * t.dominant,
        100 * t.share);
  if (!stats.zones.empty()) {
    out += "\nmean importance by zone of blocks\n";
    out += zone_table(
        stats.zones.front().kinds, stats.zones,
        [](const ZoneStats& z, size_t k) { return z.mean[k]; }, &ZoneStats::all);
  }
  out += fmt::format("\ntop {} tensors by mean importance\n", stats.top.size());
  for (size_t i = 0; i < stats.top.size(); ++i) {
    const auto& t = stats.tensors[stats.top[i]];
    out +=
        fmt::format("{:>3}. {:<{}} {:>10.4g} {:>6.2f}%\n", i + 1, t.name, w, t.mean, 100 * t.share);
  }
  return out;
}

nlohmann::json stats_json(const ImatrixStats& stats, const Imatrix& imatrix) {
  nlohmann::json j;
  j["chunk_count"] = imatrix.chunk_count;
  j["chunk_size"] = imatrix.chunk_size;
  j["datasets"] = imatrix.datasets;
  j["dominant_factor"] = kDominantFactor;
  auto& tensors = j["tensors"] = nlohmann::json::array();
  for (const auto& t : stats.tensors)
    tensors.push_back({{"name", t.name},
                       {"block", t.block},
                       {"kind", t.kind},
                       {"channels", t.channels},
                       {"rows", t.rows},
                       {"sum", t.sum},
                       {"mean", t.mean},
                       {"max", t.max},
                       {"max_over_mean", t.max_over_mean()},
                       {"cv", t.cv},
                       {"dominant_fraction", t.dominant},
                       {"share", t.share}});
  auto& zones = j["zones"] = nlohmann::json::array();
  for (const auto& z : stats.zones) {
    nlohmann::json by_kind = nlohmann::json::object();
    for (size_t k = 0; k < z.kinds.size(); ++k) by_kind[z.kinds[k]] = number_or_null(z.mean[k]);
    zones.push_back({{"first_block", z.first_block},
                     {"last_block", z.last_block},
                     {"mean", by_kind},
                     {"all", number_or_null(z.all)}});
  }
  auto& top = j["top"] = nlohmann::json::array();
  for (size_t i : stats.top) top.push_back(stats.tensors[i].name);
  return j;
}

namespace {

std::string interval_text(const TensorComparison& t) {
  if (std::isnan(t.ci_low)) return "";
  return fmt::format(" [{:.3f}, {:.3f}]{}", t.ci_low, t.ci_high, t.uncertain ? " uncertain" : "");
}

std::string candidates_text(const ImatrixComparison& c, Verdict verdict, size_t w) {
  std::string out;
  for (const auto& t : c.tensors)
    if (t.verdict == verdict)
      out += fmt::format("  {:<{}} {:>7.3f}{}\n", t.name, w, t.ratio, interval_text(t));
  return out.empty() ? "  (none)\n" : out;
}

}  // namespace

std::string comparison_text(const ImatrixComparison& c, const CompareRender& o) {
  std::vector<std::string> names;
  for (const auto& t : c.tensors) names.push_back(t.name);
  const size_t w = name_width(names, 6);
  std::string out = fmt::format(
      "{} shared tensors; normalised by the geometric mean of tensor importance (domain {:.4g}, "
      "generic {:.4g}); {}\n",
      c.tensors.size(), c.domain_scale, c.generic_scale,
      c.has_intervals ? "intervals: bootstrap over chunks"
                      : "no intervals (files lack per-chunk statistics)");
  if (!c.only_domain.empty() || !c.only_generic.empty())
    out += fmt::format("{} tensors only in the domain file, {} only in the generic file\n",
                       c.only_domain.size(), c.only_generic.size());
  out += "\nratio domain/generic by zone of blocks (geometric mean)\n";
  out += zone_table(
      c.kinds, c.zones, [](const ZoneRatios& z, size_t k) { return z.ratio[k]; }, &ZoneRatios::all);
  std::vector<size_t> order(c.tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return c.tensors[a].domain_mean > c.tensors[b].domain_mean;
  });
  order.resize(std::min(order.size(), static_cast<size_t>(std::max(0, o.top))));
  out += fmt::format("\ntop {} tensors of the domain file\n", order.size());
  for (size_t i = 0; i < order.size(); ++i) {
    const auto& t = c.tensors[order[i]];
    out += fmt::format("{:>3}. {:<{}} mean {:>10.4g}  ratio {:>6.3f}{}\n", i + 1, t.name, w,
                       t.domain_mean, t.ratio, interval_text(t));
  }
  out += fmt::format("\ndemote candidates (ratio < {})\n", o.demote_below);
  out += candidates_text(c, Verdict::kDemote, w);
  out += fmt::format("promote candidates (ratio > {})\n", o.promote_above);
  out += candidates_text(c, Verdict::kPromote, w);
  return out;
}

nlohmann::json comparison_json(const ImatrixComparison& c, const CompareRender& o) {
  nlohmann::json j;
  j["demote_below"] = o.demote_below;
  j["promote_above"] = o.promote_above;
  j["domain_scale"] = c.domain_scale;
  j["generic_scale"] = c.generic_scale;
  j["has_intervals"] = c.has_intervals;
  j["only_domain"] = c.only_domain;
  j["only_generic"] = c.only_generic;
  auto& tensors = j["tensors"] = nlohmann::json::array();
  for (const auto& t : c.tensors)
    tensors.push_back({{"name", t.name},
                       {"block", t.block},
                       {"kind", t.kind},
                       {"domain_mean", t.domain_mean},
                       {"generic_mean", t.generic_mean},
                       {"ratio", number_or_null(t.ratio)},
                       {"ci_low", number_or_null(t.ci_low)},
                       {"ci_high", number_or_null(t.ci_high)},
                       {"verdict", verdict_name(t.verdict)},
                       {"uncertain", t.uncertain}});
  auto& zones = j["zones"] = nlohmann::json::array();
  for (const auto& z : c.zones) {
    nlohmann::json by_kind = nlohmann::json::object();
    for (size_t k = 0; k < c.kinds.size(); ++k) by_kind[c.kinds[k]] = number_or_null(z.ratio[k]);
    zones.push_back({{"first_block", z.first_block},
                     {"last_block", z.last_block},
                     {"ratio", by_kind},
                     {"all", number_or_null(z.all)}});
  }
  return j;
}

}  // namespace qmix
