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

}  // namespace tensorplan::mem
