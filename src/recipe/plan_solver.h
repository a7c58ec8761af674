// The multiple-choice knapsack behind `qmix plan`: every item (tensor) takes exactly one of
// its options (types), each with a size in bytes and a predicted loss; minimise the total loss
// with the total size at most the budget (docs/plan.md, "Solver").
//
//  1. Lagrangian relaxation: for a multiplier λ each item independently takes the option
//     minimising loss + λ·bytes, which is always a vertex of the lower convex hull of its
//     (bytes, loss) points. Lowering λ walks every item up its hull one segment at a time, in
//     order of the segment's loss saved per byte; we take that sweep exactly (the limit of a
//     bisection on λ) and stop before the first segment that no longer fits. λ is the slope
//     of the last segment taken: the price of a byte at the optimum of the relaxation.
//  2. Greedy repair: the bytes left are spent on the upgrade (any option, hull or not) with
//     the best loss saved per byte that still fits, until none fits.
//  3. Exchange: an upgrade of one item paid by a downgrade of another is made while it lowers
//     the total loss within the budget (pairs from the most promising candidates).
//
// Step 0, when it is small enough: sizes are counted in units of the greatest common divisor
// of all option sizes (ggml's blocks make it large, e.g. 512 bytes on the tiny models), and
// when (budget / unit) × items stays under 2^26 an exact dynamic programme replaces steps 2-3
// (λ is still reported from step 1).
//
// The budget is never exceeded. Without the exact table the result is optimal when the hull sweep
// ends exactly on the budget; otherwise it is a heuristic: an optimum that needs three or more
// items to change at once (e.g. one big upgrade paid by two downgrades) can be missed: on 300
// random small instances it was exact in 292, at worst 8 % off (tests/recipe/plan_solver_test.cpp);
// on real models with hundreds of tensors the bytes left after step 1 are a small fraction.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/error.h"

namespace qmix {

struct KnapsackOption {
  uint64_t bytes = 0;
  double loss = 0;
};

struct KnapsackItem {
  std::vector<KnapsackOption> options;  // at least one
};

struct KnapsackSolution {
  std::vector<size_t> choice;  // option index per item
  uint64_t bytes = 0;
  double loss = 0;
  double lambda = 0;   // loss per byte of the last hull step taken (0: every item at its best)
  bool exact = false;  // found by the exact table (step 0), not the heuristic steps 2-3
};

// kAuto uses the exact table where it fits; kHeuristic always takes steps 1-3 (for tests).
enum class KnapsackMethod { kAuto, kHeuristic };

// Errors: an item without options, or a budget below the smallest possible total (the message
// gives that minimum in bytes).
Expected<KnapsackSolution> solve_knapsack(std::span<const KnapsackItem> items, uint64_t budget,
                                          KnapsackMethod method = KnapsackMethod::kAuto);

// The options on the lower convex hull of an item, by increasing bytes (decreasing loss);
// options with more bytes and no less loss than another are never on it.
std::vector<size_t> lower_hull(const KnapsackItem& item);

}  // namespace qmix
