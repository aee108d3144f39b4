#include "support/random_graph.h"

#include <fmt/format.h>

#include <algorithm>

namespace tensorplan::mem {

namespace {

// Builds graphs by appending; keeps ids equal to indices.
struct Builder {
  Graph graph;
  int tensor(std::int64_t size, TensorKind kind, std::string name, bool output = false) {
    Tensor t;
    t.id = graph.num_tensors();
    t.name = std::move(name);
    t.size = size;
    t.kind = kind;
    t.output = output;
    graph.tensors.push_back(std::move(t));
    return graph.num_tensors() - 1;
  }
  int node(std::string op, std::vector<int> inputs, std::vector<int> outputs) {
    Node n;
    n.id = graph.num_nodes();
    n.name = fmt::format("{}_{}", op, n.id);
    n.op = std::move(op);
    n.inputs = std::move(inputs);
    n.outputs = std::move(outputs);
    graph.nodes.push_back(std::move(n));
    graph.order.push_back(graph.num_nodes() - 1);
    return graph.num_nodes() - 1;
  }
  Graph finish(std::string name) {
    graph.name = std::move(name);
    link_and_validate(graph, graph.name);
    return std::move(graph);
  }
};

}  // namespace

Graph random_dag(int nodes, std::uint64_t seed, std::int64_t max_size) {
  Rng rng(seed);
  Builder b;
  std::vector<int> available;
  const int persistent = static_cast<int>(rng.uniform(0, 2));
  for (int i = 0; i < persistent; ++i)
    available.push_back(b.tensor(rng.uniform(1, max_size), TensorKind::kWeight, "w"));
  for (int n = 0; n < nodes; ++n) {
    std::vector<int> inputs;
    if (!available.empty()) {
      const int count = static_cast<int>(rng.uniform(available.size() > 1 ? 1 : 0, 3));
      for (int k = 0; k < count; ++k) {
        // Prefer recent tensors, as real graphs do, but reach back sometimes.
        const auto size = static_cast<std::int64_t>(available.size());
        const std::int64_t back = rng.chance(0.7)
                                      ? rng.uniform(0, std::min<std::int64_t>(3, size - 1))
                                      : rng.uniform(0, size - 1);
        const int t = available[size - 1 - back];
        if (std::find(inputs.begin(), inputs.end(), t) == inputs.end()) inputs.push_back(t);
      }
    }
    std::vector<int> outputs;
    const int out_count = rng.chance(0.2) ? 2 : 1;
    for (int k = 0; k < out_count; ++k) {
      const TensorKind kind = rng.chance(0.2) ? TensorKind::kGradient : TensorKind::kActivation;
      const bool output = rng.chance(0.1);
      const std::int64_t size = rng.chance(0.05) ? 0 : rng.uniform(1, max_size);
      outputs.push_back(b.tensor(size, kind, fmt::format("t{}", b.graph.num_tensors()), output));
    }
    b.node("op", inputs, outputs);
    for (int t : outputs) available.push_back(t);
  }
  return b.finish(fmt::format("random-dag-n{}-s{}", nodes, seed));
}

Graph random_training_graph(int layers, std::uint64_t seed) {
  Rng rng(seed);
  Builder b;
  const std::int64_t batch = 32;
  auto activation_size = [&] { return batch * 1024 * rng.uniform(1, 64); };
  const int input = b.tensor(activation_size(), TensorKind::kInput, "input");

  struct Layer {
    int weight, in, out, saved;
  };
  std::vector<Layer> forward;
  int x = input;
  int skip = -1;
  for (int l = 0; l < layers; ++l) {
    const int w = b.tensor(4096 * rng.uniform(1, 256), TensorKind::kWeight, fmt::format("w{}", l));
    const int y = b.tensor(activation_size(), TensorKind::kActivation, fmt::format("y{}", l));
    b.node("linear", {x, w}, {y});
    // An activation function that keeps its own output for backward (like relu).
    const int z = b.tensor(b.graph.tensors[y].size, TensorKind::kActivation, fmt::format("z{}", l));
    std::vector<int> act_inputs = {y};
    if (skip >= 0 && rng.chance(0.3)) act_inputs.push_back(skip);  // residual join
    b.node("relu", act_inputs, {z});
    if (rng.chance(0.2)) skip = z;
    forward.push_back({w, x, z, y});
    x = z;
  }
  const int loss = b.tensor(4, TensorKind::kActivation, "loss", /*output=*/true);
  b.node("loss", {x}, {loss});
  int grad = b.tensor(b.graph.tensors[x].size, TensorKind::kTemporary, "grad_out");
  b.node("loss_backward", {loss, x}, {grad});
  std::vector<int> weight_grads(layers);
  for (int l = layers - 1; l >= 0; --l) {
    const Layer& layer = forward[l];
    const int g_y =
        b.tensor(b.graph.tensors[layer.saved].size, TensorKind::kTemporary, fmt::format("gy{}", l));
    b.node("relu_backward", {grad, layer.out}, {g_y});
    const int g_w = b.tensor(b.graph.tensors[layer.weight].size, TensorKind::kGradient,
                             fmt::format("gw{}", l), /*output=*/true);
    const int g_x =
        b.tensor(b.graph.tensors[layer.in].size, TensorKind::kTemporary, fmt::format("gx{}", l));
    b.node("linear_backward", {g_y, layer.in, layer.weight}, {g_x, g_w});
    weight_grads[l] = g_w;
    grad = g_x;
  }
  // SGD updates in place: they read weight and gradient and produce nothing new.
  for (int l = 0; l < layers; ++l) b.node("sgd_update", {forward[l].weight, weight_grads[l]}, {});
  return b.finish(fmt::format("random-training-l{}-s{}", layers, seed));
}

}  // namespace tensorplan::mem
