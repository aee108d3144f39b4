#include "tensorplan/mem/attribution.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "support/random_graph.h"
#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/mem/graph_io.h"
#include "tensorplan/mem/pytorch_allocator.h"
#include "tensorplan/mem/simulate.h"
#include "test_graphs.h"

namespace tensorplan::mem {
namespace {

// The tail of a classifier as the exporter writes it: head = Sequential(drop, Linear) so the
// Linear is `head.1`. Backward: the input-gradient matmul reads head.1's weight; the
// weight-gradient matmul reads the output gradient and the dropout's activation (no weight), so
// the exporter files it under "drop".
struct Classifier {
  Graph graph;
  int grad_matmul = -1;  // node index of the weight-gradient matmul
};

Classifier classifier() {
  Graph g;
  auto tensor = [&](std::string name, std::int64_t size, TensorKind kind, bool output = false) {
    Tensor t;
    t.id = g.num_tensors();
    t.name = std::move(name);
    t.size = size;
    t.kind = kind;
    t.output = output;
    g.tensors.push_back(t);
    return static_cast<int>(t.id);
  };
  auto node = [&](std::string name, std::string module, std::vector<int> in, std::vector<int> out) {
    Node n;
    n.id = g.num_nodes();
    n.name = name;
    n.op = "aten." + name;
    n.module = std::move(module);
    n.inputs = std::move(in);
    n.outputs = std::move(out);
    g.nodes.push_back(n);
    g.order.push_back(static_cast<int>(n.id));
    return static_cast<int>(n.id);
  };
  const int x = tensor("input", 1000, TensorKind::kInput);
  const int w = tensor("head.1.weight", 400, TensorKind::kWeight);
  const int m = tensor("head.1.weight.momentum_buffer", 400, TensorKind::kOptimizerState);
  const int d = tensor("drop:dropout.0", 1000, TensorKind::kActivation);
  const int y = tensor("head.1:mm.1", 100, TensorKind::kActivation, true);
  const int gy = tensor("loss:ones.2", 100, TensorKind::kGradient);
  const int gx = tensor("head.1:mm.3", 1000, TensorKind::kGradient);
  const int gw = tensor("grad:head.1.weight", 400, TensorKind::kGradient, true);
  node("dropout", "drop", {x}, {d});
  node("mm", "head.1", {d, w}, {y});
  node("ones", "", {y}, {gy});
  node("mm", "head.1", {gy, w}, {gx});
  Classifier c;
  c.grad_matmul = node("mm", "drop", {gy, d}, {gw});
  node("add_", "head.1", {w, gw, m}, {});
  c.graph = std::move(g);
  link_and_validate(c.graph, "classifier");
  return c;
}

TEST(Attribution, AWeightGradientOperatorBelongsToItsParametersModule) {
  const Classifier c = classifier();
  const Attribution who(c.graph);
  EXPECT_EQ(c.graph.nodes[c.grad_matmul].module, "drop");  // as the exporter files it
  EXPECT_EQ(who.node_module(c.grad_matmul), "head.1");
  EXPECT_EQ(who.gradient_parameter(c.grad_matmul), 1);
  EXPECT_EQ(who.describe_node(c.grad_matmul), "mm in head.1 (gradient of head.1.weight)");
  // Other operators keep their own module.
  EXPECT_EQ(who.node_module(0), "drop");
  EXPECT_EQ(who.gradient_parameter(3), -1);
  EXPECT_EQ(who.describe_node(3), "mm in head.1");
  EXPECT_EQ(who.describe_node(2), "ones");
}

TEST(Attribution, TensorsBelongToTheirParametersOrTheirProducersModule) {
  const Classifier c = classifier();
  const Attribution who(c.graph);
  EXPECT_EQ(who.tensor_module(0), "");        // the batch
  EXPECT_EQ(who.tensor_module(1), "head.1");  // weight
  EXPECT_EQ(who.tensor_module(2), "head.1");  // its momentum
  EXPECT_EQ(who.tensor_module(3), "drop");    // activation
  EXPECT_EQ(who.tensor_module(7), "head.1");  // its gradient
  EXPECT_EQ(top_level_module("head.1"), "head");
  EXPECT_EQ(top_level_module(""), "");
  EXPECT_EQ(parameter_module("class_token"), "");

  const Totals totals = totals_of(c.graph, who, {0, 1, 2, 3, 7});
  EXPECT_EQ(totals.total, 3200);
  EXPECT_EQ(totals.by_kind[static_cast<int>(TensorKind::kWeight)], 400);
  EXPECT_EQ(totals.by_kind[static_cast<int>(TensorKind::kGradient)], 400);
  EXPECT_EQ(totals.by_module.at("head"), 1200);
  EXPECT_EQ(totals.by_module.at("drop"), 1000);
  EXPECT_EQ(totals.by_module.at(""), 1000);
}

TEST(Attribution, LiveBytesByKindAddUpAndTheAllocatorTraceMeetsItsPeaks) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const Graph g = seed % 2 ? random_dag(static_cast<int>(5 + seed), seed, 3'000'000)
                             : random_training_graph(static_cast<int>(1 + seed % 5), seed);
    const Simulation sim = simulate(g, g.order);
    const auto by_kind = live_bytes_by_kind(g, g.order);
    ASSERT_EQ(by_kind.size(), sim.live_bytes.size());
    for (std::size_t s = 0; s < by_kind.size(); ++s) {
      std::int64_t sum = 0;
      for (std::int64_t b : by_kind[s]) sum += b;
      EXPECT_EQ(sum, sim.live_bytes[s]) << "seed " << seed << " step " << s;
    }
    AllocatorTrace trace;
    const AllocatorStats stats = replay_pytorch_allocator(g, g.order, &trace);
    ASSERT_EQ(trace.reserved.size(), g.order.size());
    ASSERT_EQ(trace.allocated.size(), g.order.size());
    if (g.order.empty()) continue;
    EXPECT_EQ(*std::max_element(trace.reserved.begin(), trace.reserved.end()), stats.peak_reserved);
    EXPECT_EQ(*std::max_element(trace.allocated.begin(), trace.allocated.end()),
              stats.peak_allocated);
    for (std::size_t s = 0; s < g.order.size(); ++s) {
      EXPECT_GE(trace.reserved[s], trace.allocated[s]);
      EXPECT_GE(trace.allocated[s], sim.live_bytes[s]);
    }
  }
}

TEST(GraphPhases, ReadFromTheExporterSortedAndWrittenBack) {
  const Graph g =
      read_graph(std::string(TENSORPLAN_SOURCE_DIR) + "/models/resnet50-b32-sgd.json.gz");
  ASSERT_EQ(g.phases.size(), 4u);
  const char* names[] = {"forward", "loss", "backward", "optimizer"};
  for (int p = 0; p < 4; ++p) EXPECT_EQ(g.phases[p].name, names[p]);
  EXPECT_EQ(g.phases[0].begin, 0);
  EXPECT_EQ(g.phases[3].end, g.num_nodes());
  for (int p = 1; p < 4; ++p) EXPECT_EQ(g.phases[p].begin, g.phases[p - 1].end);
  const std::string path = testing::temp_path("phases.json");
  write_graph(g, path);
  const Graph back = read_graph(path);
  ASSERT_EQ(back.phases.size(), 4u);
  EXPECT_EQ(back.phases[2].begin, g.phases[2].begin);
  EXPECT_EQ(back.phases[2].end, g.phases[2].end);
}

TEST(GraphPhases, RejectsRangesThatAreNotOfTheGraphsNodes) {
  testing::GraphBuilder b;
  const int x = b.tensor(10, TensorKind::kInput);
  const int y = b.tensor(10);
  b.node({x}, {y});
  Json doc = graph_to_json(b.finish("two"));
  for (const Json& bad : {Json::parse(R"({"forward": [0, 2]})"),
                          Json::parse(R"({"forward": [1, 0]})"), Json::parse(R"({"forward": [0]})"),
                          Json::parse(R"([0, 1])"), Json::parse(R"({"forward": [-1, 1]})")}) {
    doc["phases"] = bad;
    const std::string path = testing::temp_path("bad-phases.json");
    write_file_atomic(path, doc.dump());
    try {
      read_graph(path);
      ADD_FAILURE() << "accepted phases " << bad.dump();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("/phases"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace tensorplan::mem
