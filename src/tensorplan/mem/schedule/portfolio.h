// The ordering chain, as the planner runs it: the best heuristic order (fast, always complete);
// then, unless it meets the proven bound, exact re-ordering of windows around its peak; then the
// exact down-set search over the whole graph (which proves the optimum of narrow graphs); where
// that gives up, the ordering ILP from the best order so far. Like place/portfolio for offsets.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tensorplan/common/timer.h"
#include "tensorplan/mem/graph.h"
#include "tensorplan/mem/schedule/scheduler.h"

namespace tensorplan::mem::schedule {

// The ordering ILP over the whole graph: CBC finds nothing better than the heuristics within a
// minute on graphs much above this size (measured: alexnet, 107 operators, 19 s for no gain;
// resnet18, 369, no solution), so larger graphs are improved by the window decomposition and the
// exact search only.
inline constexpr int kOrderIlpMaxNodes = 120;

// The part of the time left that the exact down-set search may use (evaluate_plan's too).
inline constexpr double kExactSearchShare = 0.3;

struct OrderPortfolioOptions {
  bool heuristics_only = false;  // the best heuristic order (and the start order), nothing more
  std::vector<int> start_order;  // also a candidate (a topological order), if not empty
  int threads = 1;               // CBC's (1 is reproducible)
  bool quiet = true;             // no progress line from the ILP
  // Told when a phase starts ("windows around the peak", "exact search") with the best max-live
  // so far and the proven bound (bytes); may be empty.
  std::function<void(const std::string& phase, std::int64_t max_live, std::int64_t bound)> on_phase;
};

struct OrderPortfolioResult {
  BestOrder order;               // the best order found, its max-live and method
  std::int64_t lower_bound = 0;  // proven: no order has a lower max-live (bytes)
};

// `lower_bound`: one already proven (e.g. best_lower_bound(graph)); the result's is at least it.
// Throws Error if the start order is not a topological order of `graph`.
OrderPortfolioResult order_with_portfolio(const Graph& graph, std::int64_t lower_bound,
                                          const OrderPortfolioOptions& options,
                                          const Deadline& deadline);

}  // namespace tensorplan::mem::schedule
