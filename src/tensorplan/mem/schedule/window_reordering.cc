#include "tensorplan/mem/schedule/window_reordering.h"

#include <algorithm>

#include "tensorplan/mem/schedule/exact_dp.h"
#include "tensorplan/mem/simulate.h"

namespace tensorplan::mem::schedule {

WindowImprovement improve_order_in_windows(const Graph& graph, std::vector<int> order,
                                           const WindowOptions& options, const Deadline& deadline) {
  Stopwatch clock;
  WindowImprovement result;
  const int n = graph.num_nodes();
  Simulation sim = simulate(graph, order);
  result.start_max_live = sim.max_live;

  // Re-orders the window of `size` operators around `step` exactly; true if its peak went down.
  auto improve_window = [&](int step, int size) {
    size = std::clamp(size, 1, kMaxWindow);
    const int begin = std::clamp(step - size / 2, 0, std::max(0, n - size));
    const int end = std::min(n, begin + size);
    ExactDpOptions dp;
    dp.max_states = options.max_states_per_window;
    dp.upper_bound = sim.max_live;  // only strictly lower window peaks are of use
    const ExactDpResult solved = solve_window_exact(graph, order, begin, end, dp, deadline);
    ++result.windows;
    if (!solved.complete || solved.order.empty()) return false;
    std::copy(solved.order.begin(), solved.order.end(), order.begin() + begin);
    sim = simulate(graph, order);
    ++result.improved;
    return true;
  };

  // Peak steps already tried at the current peak value, so each window is solved once.
  std::vector<char> tried(n, 0);
  while (!deadline.expired() && n > 0) {
    int step = -1;
    for (int s = 0; s < n && step < 0; ++s)
      if (sim.live_bytes[s] == sim.max_live && !tried[s]) step = s;
    if (step < 0) break;  // no window around a peak step can lower the peak
    bool improved = false;
    for (int size : options.sizes) {  // small windows first: cheap, and often enough
      if (deadline.expired()) break;
      if ((improved = improve_window(step, size))) break;
    }
    if (improved)
      std::fill(tried.begin(), tried.end(), 0);  // new peak steps (or a lower peak): look again
    else
      tried[step] = 1;
  }
  result.order = std::move(order);
  result.max_live = sim.max_live;
  result.seconds = clock.seconds();
  return result;
}

}  // namespace tensorplan::mem::schedule
