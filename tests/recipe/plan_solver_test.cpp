// The plan's knapsack solver against brute force on small instances: the budget is never
// exceeded, hand-made instances (where the hull sweep alone stops short or is misled by a
// non-convex option list) are solved exactly, random ones exactly in nearly every case.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "recipe/plan_solver.h"

namespace qmix {
namespace {

struct Brute {
  double loss = std::numeric_limits<double>::infinity();
  uint64_t bytes = 0;
};

Brute brute_force(const std::vector<KnapsackItem>& items, uint64_t budget) {
  Brute best;
  std::vector<size_t> pick(items.size(), 0);
  for (;;) {
    uint64_t bytes = 0;
    double loss = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      bytes += items[i].options[pick[i]].bytes;
      loss += items[i].options[pick[i]].loss;
    }
    if (bytes <= budget && loss < best.loss) best = {loss, bytes};
    size_t i = 0;
    while (i < items.size() && ++pick[i] == items[i].options.size()) pick[i++] = 0;
    if (i == items.size()) return best;
  }
}

KnapsackItem item(std::vector<KnapsackOption> options) { return KnapsackItem{std::move(options)}; }

TEST(PlanSolver, LowerHullDropsDominatedAndConcavePoints) {
  const KnapsackItem it = item({{10, 5.0}, {20, 4.9}, {30, 1.0}, {40, 1.5}, {50, 0.5}, {15, 6}});
  // (20, 4.9) lies above the segment (10,5)-(30,1); (40, 1.5) is dominated by (30, 1);
  // (15, 6) is dominated by (10, 5).
  EXPECT_EQ(lower_hull(it), (std::vector<size_t>{0, 2, 4}));
}

TEST(PlanSolver, HandMadeInstancesMatchBruteForce) {
  // The sweep takes the most efficient steps and stops short; repair and exchange must
  // finish the job. Instance 0 at budget 14: the sweep takes A's step (1.5 per byte), repair
  // spends the rest on B's non-hull middle option (12.5); the optimum gives A's bytes back for
  // B's big step (12), a pairwise exchange.
  const std::vector<std::vector<KnapsackItem>> instances = {
      {item({{4, 10}, {8, 4}}), item({{4, 9}, {6, 8.5}, {10, 2}}), item({{1, 1}})},
      {item({{1, 100}, {10, 1}}), item({{1, 50}, {2, 40}, {3, 35}}), item({{5, 5}, {6, 0}})},
      {item({{3, 7}, {5, 3}, {9, 2}}), item({{3, 7}, {5, 3}, {9, 2}}),
       item({{3, 7}, {5, 3}, {9, 2}}), item({{2, 1}, {7, 0}})},
  };
  for (size_t n = 0; n < instances.size(); ++n) {
    const auto& items = instances[n];
    uint64_t lo = 0, hi = 0;
    for (const auto& it : items) {
      lo += it.options.front().bytes;
      hi += it.options.back().bytes;
    }
    for (uint64_t budget = lo; budget <= hi + 1; ++budget) {
      const auto s = solve_knapsack(items, budget, KnapsackMethod::kHeuristic);
      ASSERT_TRUE(s.ok()) << s.error().message;
      const Brute b = brute_force(items, budget);
      EXPECT_LE(s->bytes, budget);
      EXPECT_NEAR(s->loss, b.loss, 1e-9) << "instance " << n << " budget " << budget;
    }
  }
}

struct RandomRun {
  int exact = 0, total = 0, by_table = 0;
  double worst_gap = 0;
};

// 300 random instances of 2-6 items with 1-5 options, at random budgets, against brute force.
RandomRun random_instances(KnapsackMethod method) {
  std::mt19937_64 rng(12345);
  RandomRun run;
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<KnapsackItem> items(2 + rng() % 5);
    uint64_t lo = 0, hi = 0;
    for (auto& it : items) {
      const size_t k = 1 + rng() % 5;
      uint64_t bytes = 1 + rng() % 8;
      double loss = 50.0 + static_cast<double>(rng() % 50);
      for (size_t o = 0; o < k; ++o) {  // more bytes, less loss, irregular steps
        it.options.push_back({bytes, loss});
        bytes += 1 + rng() % 9;
        loss *= 0.2 + 0.7 * static_cast<double>(rng() % 1000) / 1000.0;
      }
      lo += it.options.front().bytes;
      hi += it.options.back().bytes;
    }
    const uint64_t budget = lo + rng() % (hi - lo + 1);
    const auto s = solve_knapsack(items, budget, method);
    EXPECT_TRUE(s.ok());
    if (!s.ok()) continue;
    EXPECT_LE(s->bytes, budget);
    const Brute b = brute_force(items, budget);
    EXPECT_GE(s->loss, b.loss - 1e-9);
    ++run.total;
    run.by_table += s->exact;
    if (s->loss <= b.loss + 1e-9) ++run.exact;
    run.worst_gap = std::max(run.worst_gap, s->loss / b.loss - 1);
  }
  return run;
}

TEST(PlanSolver, RandomInstancesAreSolvedExactlyByTheTable) {
  const RandomRun run = random_instances(KnapsackMethod::kAuto);
  EXPECT_EQ(run.by_table, run.total);
  EXPECT_EQ(run.exact, run.total);
}

TEST(PlanSolver, HeuristicNeverExceedsTheBudgetAndIsNearOptimal) {
  const RandomRun run = random_instances(KnapsackMethod::kHeuristic);
  // Measured: 292 of 300 exact, worst gap 8 % (three-item trades the exchange step misses).
  EXPECT_GE(run.exact, run.total * 95 / 100) << "worst gap " << run.worst_gap;
  EXPECT_LT(run.worst_gap, 0.10);
}

TEST(PlanSolver, InfeasibleBudgetNamesTheMinimum) {
  const std::vector<KnapsackItem> items = {item({{10, 1}, {20, 0}}), item({{5, 1}})};
  const auto s = solve_knapsack(items, 14);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("15 bytes"), std::string::npos) << s.error().message;
  EXPECT_TRUE(solve_knapsack(items, 15).ok());
}

TEST(PlanSolver, AmpleBudgetTakesEveryBestOptionAndLambdaIsZeroWhenNothingIsTraded) {
  const std::vector<KnapsackItem> items = {item({{10, 3}, {20, 1}}), item({{5, 2}, {6, 0.5}})};
  const auto s = solve_knapsack(items, 1000);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->choice, (std::vector<size_t>{1, 1}));
  EXPECT_DOUBLE_EQ(s->loss, 1.5);
  const auto tight = solve_knapsack(items, 15);
  ASSERT_TRUE(tight.ok());
  EXPECT_EQ(tight->choice, (std::vector<size_t>{0, 0}));
  EXPECT_EQ(tight->lambda, 0.0);
}

TEST(PlanSolver, ItemWithoutOptionsIsAnError) {
  const std::vector<KnapsackItem> items = {item({})};
  EXPECT_FALSE(solve_knapsack(items, 10).ok());
}

}  // namespace
}  // namespace qmix
