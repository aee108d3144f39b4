#include "tensorplan/mem/schedule/step_windows.h"

#include <algorithm>
#include <cstdint>

#include "tensorplan/mem/reachability.h"

namespace tensorplan::mem::schedule {

namespace {

std::vector<std::vector<int>> all_predecessors(const Graph& graph) {
  std::vector<std::vector<int>> preds(graph.num_nodes());
  for (int v = 0; v < graph.num_nodes(); ++v) preds[v] = predecessors(graph, v);
  return preds;
}

std::vector<std::vector<int>> successors_of(const std::vector<std::vector<int>>& preds) {
  std::vector<std::vector<int>> succs(preds.size());
  for (std::size_t v = 0; v < preds.size(); ++v) {
    for (int p : preds[v]) succs[p].push_back(static_cast<int>(v));
  }
  return succs;
}

}  // namespace

StepWindows full_windows(const Graph& graph) {
  StepWindows windows;
  const int n = graph.num_nodes();
  windows.earliest.assign(n, 0);
  windows.latest.assign(n, std::max(0, n - 1));
  windows.predecessors = all_predecessors(graph);
  return windows;
}

StepWindows step_windows(const Graph& graph, int max_exact_nodes) {
  const int n = graph.num_nodes();
  StepWindows windows;
  windows.predecessors = all_predecessors(graph);
  const std::vector<std::vector<int>> succs = successors_of(windows.predecessors);
  std::vector<int> forward = graph.order;
  std::vector<int> backward(forward.rbegin(), forward.rend());
  windows.earliest.assign(n, 0);
  windows.latest.assign(n, n - 1);

  if (n <= max_exact_nodes) {
    windows.exact = true;
    {
      // A node runs after all its ancestors (the closed set less itself).
      const std::vector<NodeSet> ancestors = ancestor_sets(graph);
      for (int v = 0; v < n; ++v) windows.earliest[v] = ancestors[v].count() - 1;
      // Drop predecessor p of v when another predecessor q already has p as an ancestor.
      for (int v = 0; v < n; ++v) {
        std::vector<int>& preds = windows.predecessors[v];
        std::vector<int> kept;
        for (int p : preds) {
          const bool implied = std::any_of(preds.begin(), preds.end(), [&](int q) {
            return q != p && ancestors[q].contains(p);
          });
          if (!implied) kept.push_back(p);
        }
        preds = std::move(kept);
      }
    }
    const std::vector<NodeSet> descendants = descendant_sets(graph);
    for (int v = 0; v < n; ++v) windows.latest[v] = n - 1 - (descendants[v].count() - 1);
    return windows;
  }

  // Longest chains: valid but weaker than exact counts.
  for (int v : forward) {
    for (int p : windows.predecessors[v]) {
      windows.earliest[v] = std::max(windows.earliest[v], windows.earliest[p] + 1);
    }
  }
  std::vector<int> chain_below(n, 0);
  for (int v : backward) {
    for (int s : succs[v]) chain_below[v] = std::max(chain_below[v], chain_below[s] + 1);
    windows.latest[v] = n - 1 - chain_below[v];
  }
  return windows;
}

}  // namespace tensorplan::mem::schedule
