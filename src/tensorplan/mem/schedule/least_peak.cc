#include "tensorplan/mem/schedule/least_peak.h"

#include <queue>
#include <tuple>

#include "tensorplan/mem/schedule/execution_state.h"

namespace tensorplan::mem::schedule {

namespace {

struct Candidate {
  std::int64_t step_bytes;  // bytes its outputs add during its step
  std::int64_t net_change;  // bytes live after it minus before, when this entry was made
  int position;             // in the reference order
  int node;
  // Reversed, so that std::priority_queue (a max-heap) pops the smallest key.
  bool operator<(const Candidate& other) const {
    return std::tie(step_bytes, net_change, position) >
           std::tie(other.step_bytes, other.net_change, other.position);
  }
};

}  // namespace

std::vector<int> LeastPeakFirst::order(const Graph& graph, const Deadline& /*deadline*/) const {
  ExecutionState state(graph);
  const std::vector<int> position = reference_positions(graph);
  std::vector<char> ready(graph.nodes.size(), 0);
  std::priority_queue<Candidate> heap;
  auto push = [&](int n) { heap.push({state.step_bytes(n), state.net_change(n), position[n], n}); };
  for (int n : state.initially_ready()) {
    ready[n] = 1;
    push(n);
  }

  std::vector<int> result;
  result.reserve(graph.nodes.size());
  while (!heap.empty()) {
    const Candidate top = heap.top();
    heap.pop();
    // Skip entries made stale by a later, lower net change of the same node.
    if (state.scheduled(top.node) || top.net_change != state.net_change(top.node)) continue;
    result.push_back(top.node);
    state.run(
        top.node,
        [&](int n) {
          ready[n] = 1;
          push(n);
        },
        [&](int n) {
          if (ready[n]) push(n);
        });
  }
  return result;
}

}  // namespace tensorplan::mem::schedule
