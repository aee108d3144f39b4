#include "tensorplan/mem/reachability.h"

namespace tensorplan::mem {

std::vector<NodeSet> ancestor_sets(const Graph& graph) {
  const int n = graph.num_nodes();
  std::vector<NodeSet> ancestors(n, NodeSet(n));
  for (int v : graph.order) {  // topological: a node's predecessors are complete before it
    ancestors[v].insert(v);
    for (int p : predecessors(graph, v)) ancestors[v].unite(ancestors[p]);
  }
  return ancestors;
}

std::vector<NodeSet> descendant_sets(const Graph& graph) {
  const int n = graph.num_nodes();
  std::vector<NodeSet> descendants(n, NodeSet(n));
  for (auto it = graph.order.rbegin(); it != graph.order.rend(); ++it) {
    const int v = *it;
    descendants[v].insert(v);
    for (int t : graph.nodes[v].outputs)
      for (int c : graph.tensors[t].consumers) descendants[v].unite(descendants[c]);
  }
  return descendants;
}

}  // namespace tensorplan::mem
