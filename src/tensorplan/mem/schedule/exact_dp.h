// An exact order search by dynamic programming over the sets of operators already run (the
// down-sets of the graph). Every topological order is a path from the empty set to the full set
// adding one node at a time, and the live bytes of a step depend only on the set run before it and
// the node run, so the least peak over all orders is a bottleneck shortest path over down-sets.
// Narrow graphs (chains of layers, an MLP's training step) have few down-sets and are solved
// exactly in milliseconds where the ILP takes minutes; wide ones exceed the state budget and the
// search gives up (its result says so) — the ILP and the heuristics remain for them.
#pragma once

#include <cstdint>
#include <vector>

#include "tensorplan/common/timer.h"
#include "tensorplan/mem/graph.h"

namespace tensorplan::mem::schedule {

inline constexpr int kExactDpMaxNodes = 2048;

struct ExactDpOptions {
  std::int64_t max_states = 2'000'000;  // down-sets kept in all; beyond it the search gives up
  // A known peak (e.g. of the best heuristic order): states whose peak reaches it are pruned, so
  // the search only looks for strictly better orders. Negative: none.
  std::int64_t upper_bound = -1;
};

struct ExactDpResult {
  bool complete = false;     // the search finished: `optimum` is proven
  std::int64_t optimum = 0;  // least max-live over all orders (when complete)
  std::vector<int> order;    // an order with that peak; empty if none beats upper_bound
  std::int64_t states = 0;   // down-sets visited
  double seconds = 0;
};

// Throws Error if the graph has more than kExactDpMaxNodes nodes. Gives up (complete = false)
// when the state budget or the deadline runs out.
ExactDpResult solve_order_exact(const Graph& graph, const ExactDpOptions& options,
                                const Deadline& deadline);

// The same search over a window of `order`: re-orders order[begin, end) (at most kMaxWindow
// operators), the operators before it having run and those after it waiting. `order` must be
// topological. The result's order holds the window's nodes in their new order.
inline constexpr int kMaxWindow = 128;
ExactDpResult solve_window_exact(const Graph& graph, const std::vector<int>& order, int begin,
                                 int end, const ExactDpOptions& options, const Deadline& deadline);

}  // namespace tensorplan::mem::schedule
