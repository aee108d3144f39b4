// Draws a plan as a memory timeline, like PyTorch's memory_viz: time (steps) across, address up,
// one rectangle per tensor coloured by kind, the arena top and the peak step marked.
#pragma once

#include <string>

#include "tensorplan/mem/graph.h"
#include "tensorplan/mem/plan.h"

namespace tensorplan::mem {

// Returns a standalone SVG document. Very large plans draw only their largest tensors (by area)
// and say how many were left out.
std::string timeline_svg(const Graph& graph, const Plan& plan);

}  // namespace tensorplan::mem
