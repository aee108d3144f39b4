// Decomposition along an order, for graphs too wide or too large for the whole search: cut the
// order into a window of consecutive operators around a peak step, re-order the window exactly
// (the operators before it have run, those after it wait, so every other step keeps its live
// bytes), stitch it back, and repeat at the new peak steps until no window around a peak step
// can lower it, or the deadline. Never returns a worse order.
#pragma once

#include <cstdint>
#include <vector>

#include "tensorplan/common/timer.h"
#include "tensorplan/mem/graph.h"

namespace tensorplan::mem::schedule {

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
