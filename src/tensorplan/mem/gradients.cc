#include "tensorplan/mem/gradients.h"

namespace tensorplan::mem {

Graph with_fused_gradients(const Graph& graph) {
  Graph fused = graph;
  fused.gradients = GradientSemantics::kFused;
  for (Tensor& t : fused.tensors)
    if (t.kind == TensorKind::kGradient) t.output = false;
  // Producers and consumers are unchanged; only lifetimes shorten.
  return fused;
}

}  // namespace tensorplan::mem
