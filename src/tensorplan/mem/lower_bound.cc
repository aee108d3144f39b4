#include "tensorplan/mem/lower_bound.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "tensorplan/mem/reachability.h"

namespace tensorplan::mem {

std::int64_t simple_lower_bound(const Graph& graph) {
  const std::int64_t persistent = graph.persistent_bytes();
  if (graph.nodes.empty()) return persistent;

  // Bytes of node v's inputs and outputs that are not already counted (persistent, or `counted`).
  std::vector<int> stamp(graph.tensors.size(), -1);
  auto operator_bytes = [&](int v, auto&& already_counted) {
    std::int64_t bytes = 0;
    auto add = [&](int t) {
      if (stamp[t] == v || already_counted(t)) return;
      stamp[t] = v;
      bytes += graph.tensors[t].size;
    };
    for (int t : graph.nodes[v].inputs) add(t);
    for (int t : graph.nodes[v].outputs) add(t);
    return bytes;
  };

  std::int64_t per_operator = 0;
  for (int v = 0; v < graph.num_nodes(); ++v)
    per_operator = std::max(
        per_operator, operator_bytes(v, [&](int t) { return graph.tensors[t].persistent(); }));

  std::int64_t outputs = 0;
  for (const Tensor& t : graph.tensors)
    if (!t.persistent() && t.output) outputs += t.size;
  std::fill(stamp.begin(), stamp.end(), -1);
  std::int64_t cheapest_last = std::numeric_limits<std::int64_t>::max();
  for (int v = 0; v < graph.num_nodes(); ++v) {
    const bool is_sink = std::all_of(graph.nodes[v].outputs.begin(), graph.nodes[v].outputs.end(),
                                     [&](int t) { return graph.tensors[t].consumers.empty(); });
    if (!is_sink) continue;
    cheapest_last = std::min(
        cheapest_last, operator_bytes(v, [&](int t) { return graph.tensors[t].lives_to_end(); }));
  }
  const std::int64_t at_end = persistent + outputs + cheapest_last;
  return std::max(persistent + per_operator, at_end);
}

std::int64_t precedence_lower_bound(const Graph& graph, int max_nodes) {
  const int n = graph.num_nodes();
  if (n == 0 || n > max_nodes) return simple_lower_bound(graph);

  // Closed ancestor and descendant sets (each includes the node itself), along the reference
  // order, which is topological.
  const std::vector<NodeSet> ancestors = ancestor_sets(graph);
  const std::vector<NodeSet> descendants = descendant_sets(graph);

  // Tensor t is live at v's step for every v that is a (closed) descendant of its producer and a
  // (closed) ancestor of one of its consumers — or any descendant if it lives to the end.
  std::vector<std::int64_t> bytes_at(n, 0);
  NodeSet live(n);
  for (const Tensor& t : graph.tensors) {
    if (t.persistent() || t.size == 0) continue;
    if (t.output) {
      live = descendants[t.producer];
    } else {
      live = ancestors[t.producer];  // a tensor nothing reads is live at its producer's step
      for (int c : t.consumers) live.unite(ancestors[c]);
      live.intersect(descendants[t.producer]);
    }
    live.for_each([&](int v) { bytes_at[v] += t.size; });
  }
  const std::int64_t busiest = *std::max_element(bytes_at.begin(), bytes_at.end());
  return std::max(simple_lower_bound(graph), graph.persistent_bytes() + busiest);
}

std::int64_t best_lower_bound(const Graph& graph) { return precedence_lower_bound(graph); }

}  // namespace tensorplan::mem
