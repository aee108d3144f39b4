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

// Decomposition along an order, for graphs too wide or too large for the whole search: cut the
// order into a window of consecutive operators around a peak step, re-order the window exactly
// (the operators before it have run, those after it wait, so every other step keeps its live
// bytes), stitch it back, and repeat at the new peak steps until no window around a peak step
// can lower it, or the deadline. Never returns a worse order.
inline constexpr int kMaxWindow = 128;

struct WindowOptions {
  std::vector<int> sizes = {24, 48, 96, 128};  // window sizes tried in turn at each peak step
  std::int64_t max_states_per_window = 200'000;
};

struct WindowImprovement {
  std::vector<int> order;  // a topological order, max_live <= start_max_live
  std::int64_t max_live = 0;
  std::int64_t start_max_live = 0;
  int windows = 0;   // windows solved (or given up on)
  int improved = 0;  // windows that lowered a peak
  double seconds = 0;
};

WindowImprovement improve_order_in_windows(const Graph& graph, std::vector<int> order,
                                           const WindowOptions& options, const Deadline& deadline);

}  // namespace tensorplan::mem::schedule
