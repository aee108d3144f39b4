// Proven lower bounds on the peak of live bytes over all orders of a graph. Every figure here is
// a bound that no topological order can beat; it is never an estimate.
#pragma once

#include <cstdint>

#include "tensorplan/mem/graph.h"

namespace tensorplan::mem {

// The best of the simple bounds:
// - per operator: whatever order, when node v runs, all persistent tensors and v's inputs and
//   outputs are live at once;
// - at the last step: all persistent and all output tensors are live, and so are the inputs and
//   outputs of whichever node runs last — which must be a node none of whose outputs is read, so
//   the cheapest such node is taken.
std::int64_t simple_lower_bound(const Graph& graph);

// The precedence bound: whatever the order, when node v runs all its ancestors have run and none
// of its descendants has, so every tensor made by v or an ancestor and still needed by v or a
// descendant (or kept to the end) is live at v's step. Max over v of those bytes, plus the
// persistent ones. On training graphs this counts every activation saved across the loss, which
// is what makes transformer peaks provably tight. Needs ancestor sets: O(n^2 / 8) bytes, so graphs
// above `max_nodes` get the simple bound instead.
std::int64_t precedence_lower_bound(const Graph& graph, int max_nodes = 20000);

// The best proven bound available without a solver: max of the two above.
std::int64_t best_lower_bound(const Graph& graph);

}  // namespace tensorplan::mem
