// Who holds memory: the module each operator and tensor belongs to, and what is live at a step,
// totalled by tensor kind and by top-level module. Reads the names the exporter writes
// (docs/exporter.md): parameters by their path ("head.1.weight"), optimizer state as
// "<parameter>.<state>" ("head.1.weight.momentum_buffer"), a parameter's gradient as
// "grad:<parameter>"; operators carry "module".
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tensorplan/mem/graph.h"

namespace tensorplan::mem {

inline constexpr int kNumTensorKinds = 6;

// Attributes operators and tensors to modules; built once per graph (a name index).
class Attribution {
 public:
  explicit Attribution(const Graph& graph);

  // The module an operator belongs to. An operator that makes a parameter's gradient (an output
  // named "grad:<parameter>" of a parameter in the graph) belongs to that parameter's module: the
  // weight-gradient matmul of `head.1` is `head.1`'s, although the exporter files it under the
  // module that made the activation it reads (e.g. a dropout before `head.1`). Otherwise the
  // node's own "module" field ("" if it has none).
  std::string node_module(int node) const;

  // If `node` makes a parameter's gradient, that parameter's tensor index; else -1.
  int gradient_parameter(int node) const;

  // The module a tensor belongs to: a parameter's module (weights, their optimizer state and
  // gradients, by name), else its producer's node_module; "" if none is known (e.g. the batch).
  std::string tensor_module(int tensor) const;

  // "mm in head.1 (gradient of head.1.weight)": an operator as people read it.
  std::string describe_node(int node) const;

 private:
  // The parameter (weight tensor index) a name refers to: the name itself, or with its last
  // ".component" dropped (optimizer state); -1 if none.
  int parameter_named(const std::string& name) const;

  const Graph& graph_;
  std::map<std::string, int> weights_;  // weight tensor name -> index
};

// The module a parameter path belongs to: the path without its last component ("" if none).
std::string parameter_module(const std::string& parameter);

// The first component of a module path ("layer1.0.conv1" -> "layer1"); "" stays "".
std::string top_level_module(const std::string& module);

// Bytes of a set of tensors, totalled by kind and by top-level module.
struct Totals {
  std::array<std::int64_t, kNumTensorKinds> by_kind{};  // indexed by TensorKind
  std::map<std::string, std::int64_t> by_module;        // top-level module ("" = none known)
  std::int64_t total = 0;
};

Totals totals_of(const Graph& graph, const Attribution& who, const std::vector<int>& tensors);

// Bytes live at each step (Simulation::live_bytes) split by kind: [step][kind].
std::vector<std::array<std::int64_t, kNumTensorKinds>> live_bytes_by_kind(
    const Graph& graph, const std::vector<int>& order);

}  // namespace tensorplan::mem
