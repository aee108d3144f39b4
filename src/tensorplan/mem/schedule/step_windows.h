// The steps at which each operator can run when exactly one operator runs per step: node v runs
// after all its ancestors and before all its descendants, so in any topological order its step is
// in [#ancestors(v), T - 1 - #descendants(v)] (T = number of nodes). These windows bound the
// variables of the ordering ILP.
#pragma once

#include <vector>

#include "tensorplan/mem/graph.h"

namespace tensorplan::mem::schedule {

struct StepWindows {
  std::vector<int> earliest;  // per node: the first step it can run at
  std::vector<int> latest;    // per node: the last step it can run at
  // Per node: predecessors whose ordering constraint is not implied by another predecessor
  // (transitive reduction) when exact counts were computed, else all predecessors.
  std::vector<std::vector<int>> predecessors;
  bool exact = false;  // true: windows from exact ancestor/descendant counts (bitsets)
};

// Exact ancestor and descendant counts by bitsets (n^2 / 8 bytes each way, done one way at a
// time) up to `max_exact_nodes` nodes; beyond that, the weaker longest-path bounds (the number of
// nodes on the longest chain of ancestors / descendants), which need O(n + e).
StepWindows step_windows(const Graph& graph, int max_exact_nodes = 20000);

// Windows that allow every step to every node (the ILP without this simplification).
StepWindows full_windows(const Graph& graph);

}  // namespace tensorplan::mem::schedule
