// Small helpers for building graphs by hand in tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "support/temp_path.h"
#include "tensorplan/mem/graph.h"

namespace tensorplan::mem::testing {

// Appends tensors and nodes with ids equal to their indices; finish() links and validates and
// uses the creation order of the nodes as the reference order.
class GraphBuilder {
 public:
  int tensor(std::int64_t size, TensorKind kind = TensorKind::kActivation, bool output = false) {
    Tensor t;
    t.id = static_cast<std::int64_t>(graph_.tensors.size());
    t.name = "t" + std::to_string(t.id);
    t.size = size;
    t.kind = kind;
    t.output = output;
    graph_.tensors.push_back(t);
    return static_cast<int>(t.id);
  }
  int weight(std::int64_t size) { return tensor(size, TensorKind::kWeight); }
  int node(std::vector<int> inputs, std::vector<int> outputs) {
    Node n;
    n.id = static_cast<std::int64_t>(graph_.nodes.size());
    n.name = "n" + std::to_string(n.id);
    n.op = "op";
    n.inputs = std::move(inputs);
    n.outputs = std::move(outputs);
    graph_.nodes.push_back(n);
    graph_.order.push_back(static_cast<int>(n.id));
    return static_cast<int>(n.id);
  }
  Graph finish(std::string name = "test") {
    graph_.name = std::move(name);
    link_and_validate(graph_, graph_.name);
    return graph_;
  }

 private:
  Graph graph_;
};

using tensorplan::testing::temp_path;

}  // namespace tensorplan::mem::testing
