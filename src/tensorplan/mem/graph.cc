#include "tensorplan/mem/graph.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "tensorplan/common/error.h"

namespace tensorplan::mem {

namespace {
constexpr std::array<std::string_view, 6> kKindNames = {"input",      "weight",   "optimizer_state",
                                                        "activation", "gradient", "temporary"};
}

std::string_view to_string(TensorKind kind) { return kKindNames[static_cast<int>(kind)]; }

std::optional<TensorKind> parse_tensor_kind(std::string_view text) {
  for (std::size_t i = 0; i < kKindNames.size(); ++i)
    if (kKindNames[i] == text) return static_cast<TensorKind>(i);
  return std::nullopt;
}

std::string_view to_string(GradientSemantics gradients) {
  return gradients == GradientSemantics::kFused ? "fused" : "keep";
}

std::optional<GradientSemantics> parse_gradient_semantics(std::string_view text) {
  if (text == "keep") return GradientSemantics::kKeep;
  if (text == "fused") return GradientSemantics::kFused;
  return std::nullopt;
}

bool may_exist_before_step(TensorKind kind) {
  return kind == TensorKind::kInput || kind == TensorKind::kWeight ||
         kind == TensorKind::kOptimizerState;
}

std::int64_t Graph::persistent_bytes() const {
  std::int64_t total = 0;
  for (const Tensor& t : tensors)
    if (t.persistent()) total += t.size;
  return total;
}

void link_and_validate(Graph& graph, const std::string& where) {
  std::int64_t total = 0;
  for (Tensor& t : graph.tensors) {
    if (t.size < 0) fail("{}: tensor {}: size {} is negative", where, t.id, t.size);
    if (t.size > kMaxBytes) fail("{}: tensor {}: size {} exceeds 2^62 bytes", where, t.id, t.size);
    total += t.size;
    if (total > kMaxBytes)
      fail("{}: tensor {}: total size of all tensors exceeds 2^62 bytes", where, t.id);
    t.producer = -1;
    t.consumers.clear();
  }
  for (int n = 0; n < graph.num_nodes(); ++n) {
    const Node& node = graph.nodes[n];
    for (int out : node.outputs) {
      Tensor& t = graph.tensors[out];
      if (t.producer >= 0)
        fail("{}: tensor {} has two producers: nodes {} and {}", where, t.id,
             graph.nodes[t.producer].id, node.id);
      t.producer = n;
    }
    for (int in : node.inputs) {
      Tensor& t = graph.tensors[in];
      if (t.producer == n) fail("{}: node {} reads its own output tensor {}", where, node.id, t.id);
      if (t.consumers.empty() || t.consumers.back() != n) t.consumers.push_back(n);
    }
  }
  for (const Tensor& t : graph.tensors) {
    if (t.producer < 0 && !may_exist_before_step(t.kind))
      fail(
          "{}: tensor {} ({}) has no producer, but only input, weight and optimizer_state "
          "tensors exist before the step",
          where, t.id, to_string(t.kind));
    if (graph.gradients == GradientSemantics::kFused && t.kind == TensorKind::kGradient && t.output)
      fail(
          "{}: tensor {} (gradient) is marked output, but the graph's gradients are fused: each "
          "gradient dies after its parameter's update",
          where, t.id);
  }
  // Kahn's algorithm to reject cycles (and to name a node on one).
  std::vector<int> indegree(graph.nodes.size(), 0);
  for (int n = 0; n < graph.num_nodes(); ++n)
    indegree[n] = static_cast<int>(predecessors(graph, n).size());
  std::vector<int> ready;
  for (int n = 0; n < graph.num_nodes(); ++n)
    if (indegree[n] == 0) ready.push_back(n);
  int visited = 0;
  std::vector<char> seen_succ(graph.nodes.size(), 0);
  while (!ready.empty()) {
    const int n = ready.back();
    ready.pop_back();
    ++visited;
    std::vector<int> succ;
    for (int out : graph.nodes[n].outputs)
      for (int c : graph.tensors[out].consumers)
        if (!seen_succ[c]) {
          seen_succ[c] = 1;
          succ.push_back(c);
        }
    for (int c : succ) {
      seen_succ[c] = 0;
      if (--indegree[c] == 0) ready.push_back(c);
    }
  }
  if (visited != graph.num_nodes()) {
    for (int n = 0; n < graph.num_nodes(); ++n)
      if (indegree[n] > 0)
        fail("{}: the graph has a cycle through node {} ({})", where, graph.nodes[n].id,
             graph.nodes[n].name);
  }
}

std::vector<int> predecessors(const Graph& graph, int node) {
  std::vector<int> preds;
  for (int in : graph.nodes[node].inputs) {
    const int p = graph.tensors[in].producer;
    if (p >= 0) preds.push_back(p);
  }
  std::sort(preds.begin(), preds.end());
  preds.erase(std::unique(preds.begin(), preds.end()), preds.end());
  return preds;
}

bool is_topological_order(const Graph& graph, const std::vector<int>& order, std::string* why) {
  auto explain = [&](std::string text) {
    if (why) *why = std::move(text);
    return false;
  };
  if (order.size() != graph.nodes.size())
    return explain(fmt::format("the order has {} entries but the graph has {} nodes", order.size(),
                               graph.nodes.size()));
  std::vector<int> position(graph.nodes.size(), -1);
  for (std::size_t s = 0; s < order.size(); ++s) {
    const int n = order[s];
    if (n < 0 || n >= graph.num_nodes()) return explain(fmt::format("step {}: no such node", s));
    if (position[n] >= 0)
      return explain(fmt::format("node {} appears twice (steps {} and {})", graph.nodes[n].id,
                                 position[n], s));
    position[n] = static_cast<int>(s);
  }
  for (std::size_t s = 0; s < order.size(); ++s) {
    const Node& node = graph.nodes[order[s]];
    for (int in : node.inputs) {
      const int p = graph.tensors[in].producer;
      if (p >= 0 && position[p] > static_cast<int>(s))
        return explain(
            fmt::format("node {} runs at step {} before node {} (step {}) produces its "
                        "input tensor {}",
                        node.id, s, graph.nodes[p].id, position[p], graph.tensors[in].id));
    }
  }
  return true;
}

}  // namespace tensorplan::mem
