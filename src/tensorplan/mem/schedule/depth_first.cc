#include "tensorplan/mem/schedule/depth_first.h"

#include <algorithm>
#include <tuple>

#include "tensorplan/mem/schedule/execution_state.h"

namespace tensorplan::mem::schedule {

std::vector<int> DepthFirst::order(const Graph& graph, const Deadline& /*deadline*/) const {
  ExecutionState state(graph);
  const std::vector<int> position = reference_positions(graph);
  // Top of the stack runs next; the initial ready nodes go in reference order.
  std::vector<int> stack = state.initially_ready();
  std::sort(stack.begin(), stack.end(), [&](int a, int b) { return position[a] > position[b]; });

  std::vector<int> result;
  result.reserve(graph.nodes.size());
  std::vector<int> fresh;
  while (!stack.empty()) {
    const int v = stack.back();
    stack.pop_back();
    result.push_back(v);
    fresh.clear();
    state.run(
        v, [&](int u) { fresh.push_back(u); }, [](int) {});
    // Push the worst first so that the best (lowest net change, then smallest step) is on top.
    std::sort(fresh.begin(), fresh.end(), [&](int a, int b) {
      return std::tuple(state.net_change(a), state.step_bytes(a), position[a]) >
             std::tuple(state.net_change(b), state.step_bytes(b), position[b]);
    });
    stack.insert(stack.end(), fresh.begin(), fresh.end());
  }
  return result;
}

}  // namespace tensorplan::mem::schedule
