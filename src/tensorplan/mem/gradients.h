// Gradient semantics: from a step that keeps its gradients in .grad (PyTorch's default) to the
// same step with the optimizer fused into backward, where each gradient dies after its
// parameter's update (as OLLA/MODeL and ROAM assume, and PyTorch's post-accumulate-grad hooks do).
#pragma once

#include "tensorplan/mem/graph.h"

namespace tensorplan::mem {

// The same step with fused gradients: every gradient tensor marked output (a parameter's gradient
// kept in .grad) is no longer an output, so it dies at its last reader (its parameter's update).
// Nodes, sizes and the reference order are unchanged, so under any order its live bytes are at
// most the keep graph's. A graph that is already fused is returned as it is.
Graph with_fused_gradients(const Graph& graph);

}  // namespace tensorplan::mem
