#include "recipe/plan_solver.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>

namespace qmix {
namespace {

// Candidates kept per side in one exchange round (the most promising upgrades and the
// cheapest downgrades): bounds a round to kExchangeWidth² pairs on large models.
constexpr size_t kExchangeWidth = 256;
// Largest table (size steps × items) the exact dynamic programme may fill: 64 MiB of choices.
constexpr uint64_t kMaxTableCells = uint64_t{1} << 26;

struct State {
  std::span<const KnapsackItem> items;
  std::vector<size_t> choice;
  uint64_t bytes = 0;
  double loss = 0;

  const KnapsackOption& current(size_t i) const { return items[i].options[choice[i]]; }
  void set(size_t i, size_t option) {
    bytes = bytes - current(i).bytes + items[i].options[option].bytes;
    loss = loss - current(i).loss + items[i].options[option].loss;
    choice[i] = option;
  }
};

struct Segment {
  size_t item = 0;
  size_t to = 0;  // option index the step reaches
  uint64_t extra_bytes = 0;
  double per_byte = 0;  // loss saved per byte
  size_t position = 0;  // position on the item's hull (keeps the item's steps in order)
};

std::vector<Segment> hull_segments(std::span<const KnapsackItem> items,
                                   const std::vector<std::vector<size_t>>& hulls) {
  std::vector<Segment> out;
  for (size_t i = 0; i < items.size(); ++i)
    for (size_t k = 1; k < hulls[i].size(); ++k) {
      const KnapsackOption& a = items[i].options[hulls[i][k - 1]];
      const KnapsackOption& b = items[i].options[hulls[i][k]];
      const uint64_t extra = b.bytes - a.bytes;
      out.push_back({i, hulls[i][k], extra, (a.loss - b.loss) / static_cast<double>(extra), k});
    }
  std::ranges::stable_sort(out, [](const Segment& x, const Segment& y) {
    if (x.per_byte != y.per_byte) return x.per_byte > y.per_byte;
    return x.position < y.position;
  });
  return out;
}

// Step 1: the exact λ sweep over the hulls.
double sweep_hulls(State& s, const std::vector<std::vector<size_t>>& hulls, uint64_t budget) {
  double lambda = 0;
  std::vector<size_t> reached(s.items.size(), 0);
  for (const Segment& seg : hull_segments(s.items, hulls)) {
    if (reached[seg.item] + 1 != seg.position) continue;  // an earlier step of it did not fit
    if (s.bytes + seg.extra_bytes > budget) break;
    s.set(seg.item, seg.to);
    reached[seg.item] = seg.position;
    lambda = seg.per_byte;
  }
  return lambda;
}

// Step 2: spend what is left on the best-value upgrade that fits, repeatedly.
void repair(State& s, uint64_t budget) {
  for (;;) {
    const uint64_t left = budget - s.bytes;
    double best = 0;
    size_t best_item = 0, best_option = 0;
    bool found = false;
    for (size_t i = 0; i < s.items.size(); ++i) {
      const KnapsackOption& cur = s.current(i);
      for (size_t o = 0; o < s.items[i].options.size(); ++o) {
        const KnapsackOption& opt = s.items[i].options[o];
        const double saved = cur.loss - opt.loss;
        if (saved <= 0 || (opt.bytes > cur.bytes && opt.bytes - cur.bytes > left)) continue;
        const double value = opt.bytes <= cur.bytes
                                 ? std::numeric_limits<double>::infinity()
                                 : saved / static_cast<double>(opt.bytes - cur.bytes);
        if (!found || value > best) {
          best = value;
          best_item = i;
          best_option = o;
          found = true;
        }
      }
    }
    if (!found) return;
    s.set(best_item, best_option);
  }
}

struct Move {
  size_t item = 0, option = 0;
  int64_t bytes = 0;  // change in bytes
  double loss = 0;    // change in loss
};

// Upgrades (more bytes, less loss) and downgrades (fewer bytes) from the current choice.
void candidate_moves(const State& s, std::vector<Move>& up, std::vector<Move>& down) {
  for (size_t i = 0; i < s.items.size(); ++i) {
    const KnapsackOption& cur = s.current(i);
    for (size_t o = 0; o < s.items[i].options.size(); ++o) {
      const KnapsackOption& opt = s.items[i].options[o];
      const Move m{i, o, static_cast<int64_t>(opt.bytes) - static_cast<int64_t>(cur.bytes),
                   opt.loss - cur.loss};
      if (m.bytes > 0 && m.loss < 0) up.push_back(m);
      if (m.bytes < 0) down.push_back(m);
    }
  }
  std::ranges::sort(up, [](const Move& a, const Move& b) { return a.loss < b.loss; });
  std::ranges::sort(down, [](const Move& a, const Move& b) { return a.loss < b.loss; });
  if (up.size() > kExchangeWidth) up.resize(kExchangeWidth);
  if (down.size() > kExchangeWidth) down.resize(kExchangeWidth);
}

// Step 3: one upgrade paid by one downgrade of another item, best pair first.
bool exchange_once(State& s, uint64_t budget) {
  std::vector<Move> up, down;
  candidate_moves(s, up, down);
  const int64_t left = static_cast<int64_t>(budget - s.bytes);
  double best = -1e-12 * std::max(1.0, std::abs(s.loss));
  const Move* best_up = nullptr;
  const Move* best_down = nullptr;
  for (const Move& u : up)
    for (const Move& d : down) {
      if (u.item == d.item || u.bytes + d.bytes > left) continue;
      const double change = u.loss + d.loss;
      if (change < best) {
        best = change;
        best_up = &u;
        best_down = &d;
      }
    }
  if (best_up == nullptr) return false;
  s.set(best_down->item, best_down->option);
  s.set(best_up->item, best_up->option);
  return true;
}

// Exact dynamic programme over sizes in units of the greatest common divisor of every
// option's bytes (ggml blocks make that large: whole blocks of whole rows), used when the
// table of choices stays small; nullopt otherwise.
std::optional<std::vector<size_t>> solve_by_table(std::span<const KnapsackItem> items,
                                                  uint64_t budget) {
  uint64_t unit = 0;
  for (const KnapsackItem& it : items) {
    if (it.options.size() > 255) return std::nullopt;
    for (const KnapsackOption& o : it.options) unit = std::gcd(unit, o.bytes);
  }
  if (unit == 0) return std::nullopt;
  const uint64_t width = budget / unit + 1;
  if (width * items.size() > kMaxTableCells) return std::nullopt;
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> best(width, 0.0), next(width);
  std::vector<uint8_t> pick(width * items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    std::fill(next.begin(), next.end(), inf);
    for (size_t o = 0; o < items[i].options.size(); ++o) {
      const uint64_t w0 = items[i].options[o].bytes / unit;
      const double loss = items[i].options[o].loss;
      for (uint64_t w = w0; w < width; ++w)
        if (best[w - w0] + loss < next[w]) {
          next[w] = best[w - w0] + loss;
          pick[i * width + w] = static_cast<uint8_t>(o);
        }
    }
    best.swap(next);
  }
  if (!std::isfinite(best[width - 1])) return std::nullopt;
  std::vector<size_t> choice(items.size());
  uint64_t w = width - 1;
  for (size_t i = items.size(); i-- > 0;) {
    choice[i] = pick[i * width + w];
    w -= items[i].options[choice[i]].bytes / unit;
  }
  return choice;
}

}  // namespace

std::vector<size_t> lower_hull(const KnapsackItem& item) {
  std::vector<size_t> order(item.options.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::ranges::stable_sort(order, [&](size_t a, size_t b) {
    const KnapsackOption& x = item.options[a];
    const KnapsackOption& y = item.options[b];
    return x.bytes != y.bytes ? x.bytes < y.bytes : x.loss < y.loss;
  });
  std::vector<size_t> hull;
  for (const size_t idx : order) {
    const KnapsackOption& p = item.options[idx];
    if (!hull.empty() && p.loss >= item.options[hull.back()].loss) continue;  // dominated
    while (hull.size() >= 2) {
      const KnapsackOption& a = item.options[hull[hull.size() - 2]];
      const KnapsackOption& b = item.options[hull.back()];
      // b is dropped when it lies on or above the segment a–p.
      const double cross = static_cast<double>(b.bytes - a.bytes) * (p.loss - a.loss) -
                           (b.loss - a.loss) * static_cast<double>(p.bytes - a.bytes);
      if (cross > 0) break;
      hull.pop_back();
    }
    hull.push_back(idx);
  }
  return hull;
}

Expected<KnapsackSolution> solve_knapsack(std::span<const KnapsackItem> items, uint64_t budget,
                                          KnapsackMethod method) {
  State s{items, std::vector<size_t>(items.size(), 0), 0, 0};
  std::vector<std::vector<size_t>> hulls;
  hulls.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].options.empty())
      return make_error(ErrorCode::kInvalidArgument, "knapsack item {} has no options", i);
    hulls.push_back(lower_hull(items[i]));
    s.choice[i] = hulls.back().front();
    s.bytes += s.current(i).bytes;
    s.loss += s.current(i).loss;
  }
  if (s.bytes > budget)
    return make_error(ErrorCode::kOutOfRange,
                      "the budget of {} bytes is below the smallest possible size, {} bytes",
                      budget, s.bytes);
  KnapsackSolution out;
  out.lambda = sweep_hulls(s, hulls, budget);
  std::optional<std::vector<size_t>> exact;
  if (method == KnapsackMethod::kAuto) exact = solve_by_table(items, budget);
  if (exact) {
    out.choice = std::move(*exact);
    out.exact = true;
  } else {
    repair(s, budget);
    for (size_t round = 0; round < 4 * items.size() + 16 && exchange_once(s, budget); ++round)
      repair(s, budget);
    out.choice = std::move(s.choice);
  }
  for (size_t i = 0; i < items.size(); ++i) out.bytes += items[i].options[out.choice[i]].bytes;
  // Summed afresh: the running total collects rounding from many updates.
  for (size_t i = 0; i < items.size(); ++i) out.loss += items[i].options[out.choice[i]].loss;
  return out;
}

}  // namespace qmix
