#include "tensorplan/mem/attribution.h"

#include <algorithm>
#include <string_view>

#include "tensorplan/mem/simulate.h"

namespace tensorplan::mem {

namespace {
constexpr std::string_view kGradientPrefix = "grad:";
}  // namespace

Attribution::Attribution(const Graph& graph) : graph_(graph) {
  for (int t = 0; t < graph.num_tensors(); ++t)
    if (graph.tensors[t].kind == TensorKind::kWeight) weights_.emplace(graph.tensors[t].name, t);
}

int Attribution::parameter_named(const std::string& name) const {
  if (auto it = weights_.find(name); it != weights_.end()) return it->second;
  const auto dot = name.rfind('.');
  if (dot == std::string::npos) return -1;
  auto it = weights_.find(name.substr(0, dot));
  return it == weights_.end() ? -1 : it->second;
}

int Attribution::gradient_parameter(int node) const {
  for (int t : graph_.nodes[node].outputs) {
    const Tensor& tensor = graph_.tensors[t];
    if (tensor.kind != TensorKind::kGradient || !tensor.name.starts_with(kGradientPrefix)) continue;
    auto it = weights_.find(tensor.name.substr(kGradientPrefix.size()));
    if (it != weights_.end()) return it->second;
  }
  return -1;
}

std::string Attribution::node_module(int node) const {
  const int parameter = gradient_parameter(node);
  if (parameter >= 0) return parameter_module(graph_.tensors[parameter].name);
  return graph_.nodes[node].module;
}

std::string Attribution::tensor_module(int tensor) const {
  const Tensor& t = graph_.tensors[tensor];
  switch (t.kind) {
    case TensorKind::kWeight:
      return parameter_module(t.name);
    case TensorKind::kOptimizerState: {
      const int parameter = parameter_named(t.name);
      if (parameter >= 0) return parameter_module(graph_.tensors[parameter].name);
      break;
    }
    case TensorKind::kGradient:
      if (t.name.starts_with(kGradientPrefix)) {
        auto it = weights_.find(t.name.substr(kGradientPrefix.size()));
        if (it != weights_.end()) return parameter_module(it->first);
      }
      break;
    default:
      break;
  }
  return t.producer >= 0 ? node_module(t.producer) : std::string();
}

std::string Attribution::describe_node(int node) const {
  const Node& n = graph_.nodes[node];
  std::string text = n.name.empty() ? n.op : n.name;
  const std::string module = node_module(node);
  if (!module.empty()) text += " in " + module;
  const int parameter = gradient_parameter(node);
  if (parameter >= 0) text += " (gradient of " + graph_.tensors[parameter].name + ")";
  return text;
}

std::string parameter_module(const std::string& parameter) {
  const auto dot = parameter.rfind('.');
  return dot == std::string::npos ? std::string() : parameter.substr(0, dot);
}

std::string top_level_module(const std::string& module) {
  return module.substr(0, module.find('.'));
}

Totals totals_of(const Graph& graph, const Attribution& who, const std::vector<int>& tensors) {
  Totals totals;
  for (int t : tensors) {
    const std::int64_t size = graph.tensors[t].size;
    totals.by_kind[static_cast<int>(graph.tensors[t].kind)] += size;
    totals.by_module[top_level_module(who.tensor_module(t))] += size;
    totals.total += size;
  }
  return totals;
}

std::vector<std::array<std::int64_t, kNumTensorKinds>> live_bytes_by_kind(
    const Graph& graph, const std::vector<int>& order) {
  const auto lives = lifetimes(graph, order);
  const std::size_t steps = std::max<std::size_t>(order.size(), 1);
  std::vector<std::array<std::int64_t, kNumTensorKinds>> delta(steps + 1);
  for (int t = 0; t < graph.num_tensors(); ++t) {
    const int kind = static_cast<int>(graph.tensors[t].kind);
    delta[lives[t].start][kind] += graph.tensors[t].size;
    delta[lives[t].end + 1][kind] -= graph.tensors[t].size;
  }
  std::vector<std::array<std::int64_t, kNumTensorKinds>> live(order.size());
  std::array<std::int64_t, kNumTensorKinds> running{};
  for (std::size_t s = 0; s < order.size(); ++s) {
    for (int k = 0; k < kNumTensorKinds; ++k) running[k] += delta[s][k];
    live[s] = running;
  }
  return live;
}

}  // namespace tensorplan::mem
