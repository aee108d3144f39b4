#include "tensorplan/mem/schedule/windows.h"

#include <algorithm>
#include <bit>
#include <cstdint>

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

// Reachability sets over `order` (each node after the nodes in `before[v]`): bit u of row v is set
// when u reaches v. Rows are `words` 64-bit words long.
std::vector<std::uint64_t> reach_bits(const std::vector<int>& order,
                                      const std::vector<std::vector<int>>& before,
                                      std::size_t words) {
  std::vector<std::uint64_t> bits(order.size() * words, 0);
  for (int v : order) {
    std::uint64_t* row = &bits[static_cast<std::size_t>(v) * words];
    for (int u : before[v]) {
      const std::uint64_t* from = &bits[static_cast<std::size_t>(u) * words];
      for (std::size_t w = 0; w < words; ++w) row[w] |= from[w];
      row[u / 64] |= std::uint64_t{1} << (u % 64);
    }
  }
  return bits;
}

int count_row(const std::vector<std::uint64_t>& bits, int v, std::size_t words) {
  int count = 0;
  for (std::size_t w = 0; w < words; ++w) count += std::popcount(bits[v * words + w]);
  return count;
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
    const std::size_t words = (static_cast<std::size_t>(n) + 63) / 64;
    {
      const std::vector<std::uint64_t> ancestors = reach_bits(forward, windows.predecessors, words);
      for (int v = 0; v < n; ++v) windows.earliest[v] = count_row(ancestors, v, words);
      // Drop predecessor p of v when another predecessor q already has p as an ancestor.
      for (int v = 0; v < n; ++v) {
        std::vector<int>& preds = windows.predecessors[v];
        std::vector<int> kept;
        for (int p : preds) {
          const bool implied = std::any_of(preds.begin(), preds.end(), [&](int q) {
            return q != p && (ancestors[q * words + p / 64] >> (p % 64) & 1);
          });
          if (!implied) kept.push_back(p);
        }
        preds = std::move(kept);
      }
    }
    const std::vector<std::uint64_t> descendants = reach_bits(backward, succs, words);
    for (int v = 0; v < n; ++v) windows.latest[v] = n - 1 - count_row(descendants, v, words);
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
