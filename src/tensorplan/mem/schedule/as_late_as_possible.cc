#include "tensorplan/mem/schedule/as_late_as_possible.h"

#include <algorithm>
#include <compare>
#include <limits>
#include <queue>
#include <utility>

#include "tensorplan/mem/schedule/execution_state.h"

namespace tensorplan::mem::schedule {

std::vector<int> AsLateAsPossible::order(const Graph& graph, const Deadline& /*deadline*/) const {
  const int n = graph.num_nodes();
  const std::vector<int> position = reference_positions(graph);
  // (output tensor, reader) pairs of each node whose reader is not placed yet; placing from the
  // back, a node can go once all its readers are placed.
  std::vector<int> unplaced_readers(n, 0);
  for (int v = 0; v < n; ++v)
    for (int t : graph.nodes[v].outputs)
      unplaced_readers[v] += static_cast<int>(graph.tensors[t].consumers.size());
  // anchor: reference position of the earliest sink that depends on the node (its own, if a sink).
  std::vector<int> anchor(n, std::numeric_limits<int>::max());
  // Placeable nodes. From the back, the latest anchor goes next; then the node made placeable
  // most recently, which puts it right before the reader that released it; then the later in
  // reference order.
  struct Entry {
    int anchor, released, position;
    auto operator<=>(const Entry&) const = default;
  };
  std::priority_queue<Entry> heap;
  for (int v = 0; v < n; ++v)
    if (unplaced_readers[v] == 0) {
      anchor[v] = position[v];
      heap.push({anchor[v], 0, position[v]});
    }

  std::vector<int> reversed;
  reversed.reserve(n);
  std::vector<int> inputs;
  while (!heap.empty()) {
    const int v = graph.order[heap.top().position];
    heap.pop();
    reversed.push_back(v);
    const int released = static_cast<int>(reversed.size());
    inputs = graph.nodes[v].inputs;
    std::sort(inputs.begin(), inputs.end());
    inputs.erase(std::unique(inputs.begin(), inputs.end()), inputs.end());
    for (int t : inputs) {
      const int p = graph.tensors[t].producer;
      if (p < 0) continue;
      anchor[p] = std::min(anchor[p], anchor[v]);
      if (--unplaced_readers[p] == 0) heap.push({anchor[p], released, position[p]});
    }
  }
  return {reversed.rbegin(), reversed.rend()};
}

}  // namespace tensorplan::mem::schedule
