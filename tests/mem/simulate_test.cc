#include "tensorplan/mem/simulate.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "support/random_graph.h"
#include "tensorplan/mem/lower_bound.h"
#include "test_graphs.h"

namespace tensorplan::mem {
namespace {

using testing::GraphBuilder;

// w(10, weight) ; a = f(w) [100] ; b = g(a) [200] ; c = h(a, b) [50, output] ; d = k(b) [30]
Graph diamond() {
  GraphBuilder b;
  const int w = b.weight(10);
  const int a = b.tensor(100), bb = b.tensor(200), c = b.tensor(50, TensorKind::kActivation, true),
            d = b.tensor(30);
  b.node({w}, {a});
  b.node({a}, {bb});
  b.node({a, bb}, {c});
  b.node({bb}, {d});
  return b.finish("diamond");
}

TEST(Simulate, LifetimesFollowTheRules) {
  const Graph g = diamond();
  const auto lives = lifetimes(g, g.order);
  EXPECT_EQ(lives[0].start, 0);  // weight: whole step
  EXPECT_EQ(lives[0].end, 3);
  EXPECT_EQ(lives[1].start, 0);  // a: produced at 0, last read at 2
  EXPECT_EQ(lives[1].end, 2);
  EXPECT_EQ(lives[2].start, 1);  // b: produced at 1, last read at 3
  EXPECT_EQ(lives[2].end, 3);
  EXPECT_EQ(lives[3].start, 2);  // c: output, to the end
  EXPECT_EQ(lives[3].end, 3);
  EXPECT_EQ(lives[4].start, 3);  // d: never read, live only at its producer's step
  EXPECT_EQ(lives[4].end, 3);
}

TEST(Simulate, LiveBytesAndPeak) {
  const Graph g = diamond();
  const Simulation sim = simulate(g, g.order);
  // step 0: w + a = 110; 1: w + a + b = 310; 2: w + a + b + c = 360; 3: w + b + c + d = 290.
  EXPECT_EQ(sim.live_bytes, (std::vector<std::int64_t>{110, 310, 360, 290}));
  EXPECT_EQ(sim.max_live, 360);
  EXPECT_EQ(sim.peak_step, 2);
  EXPECT_EQ(sim.live_at_peak, (std::vector<int>{2, 1, 3, 0}));  // largest first
  EXPECT_EQ(max_live(g, g.order), 360);
  // Another valid order: f, g, k, h. Step 2 runs k: w + a + b + d = 340; step 3: w + a + b + c.
  EXPECT_EQ(max_live(g, {0, 1, 3, 2}), 360);
}

TEST(Simulate, EmptyGraphHoldsOnlyPersistentTensors) {
  GraphBuilder b;
  b.weight(64);
  const Graph g = b.finish();
  const Simulation sim = simulate(g, g.order);
  EXPECT_EQ(sim.max_live, 64);
  EXPECT_TRUE(sim.live_bytes.empty());
  EXPECT_EQ(max_live(g, g.order), 64);
}

TEST(Simulate, MaxLiveAgreesWithSimulateAndBoundsHold) {
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    const Graph g = seed % 2 ? random_dag(5 + static_cast<int>(seed % 40), seed)
                             : random_training_graph(1 + static_cast<int>(seed % 20), seed);
    const Simulation sim = simulate(g, g.order);
    EXPECT_EQ(sim.max_live, max_live(g, g.order));
    EXPECT_EQ(sim.max_live, *std::max_element(sim.live_bytes.begin(), sim.live_bytes.end()));
    EXPECT_LE(simple_lower_bound(g), sim.max_live) << g.name;
    std::int64_t at_peak = 0;
    for (int t : sim.live_at_peak) at_peak += g.tensors[t].size;
    EXPECT_EQ(at_peak, sim.max_live);
  }
}

}  // namespace
}  // namespace tensorplan::mem
