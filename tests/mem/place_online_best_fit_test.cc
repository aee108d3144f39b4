#include <gtest/gtest.h>

#include "support/random_graph.h"
#include "tensorplan/common/error.h"
#include "tensorplan/mem/place/online_best_fit.h"

namespace tensorplan::mem::place {
namespace {

TEST(PlaceSweep, NestedLifetimesPackWithoutWaste) {
  // A stack: each buffer lives inside the previous one's lifetime, as forward activations do
  // until their backward. Max-live is the sum of all; the sweep reaches it.
  Problem problem;
  for (int i = 0; i < 6; ++i) problem.buffers.push_back({i, i, 20 - i, 100 + 10 * i});
  const Placement p = OnlineBestFitPlacer().place(problem, Deadline());
  EXPECT_TRUE(is_valid(problem, p.offsets));
  EXPECT_EQ(p.height, max_live(problem));
}

TEST(PlaceSweep, ReusesFreedBlocksAndGrowsTheTopBlock) {
  // a [0,2) 100 B; b [2,4) 60 B reuses a's block; c [2,4) 80 B must go above: it takes the top
  // free remainder (40 B) and grows the arena by 40, to 140.
  Problem problem;
  problem.buffers = {{0, 0, 2, 100}, {1, 2, 4, 80}, {2, 2, 4, 60}};
  const Placement p = OnlineBestFitPlacer().place(problem, Deadline());
  EXPECT_TRUE(is_valid(problem, p.offsets));
  EXPECT_EQ(p.offsets[1], 0);   // 80 B (larger, born together) first, best fit in a's block
  EXPECT_EQ(p.offsets[2], 80);  // 60 B: the 20 B remainder at the top grows by 40
  EXPECT_EQ(p.height, 140);
}

TEST(PlaceSweep, ValidOnRandomProblemsAndHonoursAlignment) {
  Rng rng(11);
  for (int round = 0; round < 2000; ++round) {
    Problem problem;
    problem.alignment = rng.chance(0.5) ? 1 : std::int64_t{1} << rng.uniform(0, 9);
    const int n = static_cast<int>(rng.uniform(1, 40));
    for (int i = 0; i < n; ++i) {
      const std::int64_t lower = rng.uniform(0, 30);
      problem.buffers.push_back({i, lower, lower + rng.uniform(1, 10), rng.uniform(1, 5000)});
    }
    const Placement p = OnlineBestFitPlacer().place(problem, Deadline());
    std::string why;
    ASSERT_TRUE(is_valid(problem, p.offsets, &why)) << why;
    EXPECT_EQ(p.height, height(problem, p.offsets));
    EXPECT_GE(p.height, max_live(problem));
  }
}

TEST(PlaceSweep, PortfolioFallsBackToTheSweepWhenTimeIsOut) {
  const Graph g = random_training_graph(2000, 3);
  const Problem problem = problem_from_graph(g, g.order);
  const auto placers = heuristic_placers();
  const BestPlacement best = place_best(problem, placers, Deadline(0));
  EXPECT_TRUE(is_valid(problem, best.placement.offsets));
  EXPECT_EQ(best.method, "sweep-best-fit");  // the greedy placers gave up at once
}

TEST(PlaceSweep, RejectsBadBuffers) {
  Problem problem;
  problem.buffers = {{0, 3, 3, 10}};
  EXPECT_THROW(OnlineBestFitPlacer().place(problem, Deadline()), Error);
  problem.buffers = {{0, 0, 3, 0}};
  EXPECT_THROW(OnlineBestFitPlacer().place(problem, Deadline()), Error);
}

}  // namespace
}  // namespace tensorplan::mem::place
