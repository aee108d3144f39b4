// Properties of every placer and of the best-of chooser over thousands of random problems: random
// intervals, random DAGs and random training-like graphs under their reference order.
#include <gtest/gtest.h>

#include "support/random_graph.h"
#include "tensorplan/mem/place/placer.h"

namespace tensorplan::mem::place {
namespace {

// Checks every placer and place_best on one problem.
void check_all(const Problem& problem, const std::string& label) {
  const auto placers = heuristic_placers();
  const std::int64_t bound = max_live(problem);
  std::int64_t lowest = -1;
  std::string first_lowest;
  for (const auto& placer : placers) {
    const Placement p = placer->place(problem, Deadline());
    std::string why;
    ASSERT_TRUE(is_valid(problem, p.offsets, &why))
        << label << " " << placer->name() << ": " << why;
    ASSERT_EQ(p.height, height(problem, p.offsets)) << label << " " << placer->name();
    ASSERT_GE(p.height, bound) << label << " " << placer->name();
    for (std::int64_t offset : p.offsets) ASSERT_EQ(offset % problem.alignment, 0) << label;
    if (lowest < 0 || p.height < lowest) lowest = p.height, first_lowest = placer->name();
  }
  const BestPlacement best = place_best(problem, placers, Deadline());
  ASSERT_TRUE(is_valid(problem, best.placement.offsets)) << label;
  ASSERT_EQ(best.placement.height, lowest) << label;  // never worse than any member
  ASSERT_EQ(best.method, first_lowest) << label;      // ties to the earlier one
}

TEST(PlaceProperties, RandomIntervals) {
  for (std::uint64_t seed = 1; seed <= 1500; ++seed) {
    Rng rng(seed);
    Problem problem;
    problem.alignment = std::int64_t{1} << rng.uniform(0, 4);
    const int n = static_cast<int>(rng.uniform(0, 60));
    const std::int64_t horizon = rng.uniform(1, 50);
    for (int i = 0; i < n; ++i) {
      const std::int64_t lower = rng.uniform(0, horizon - 1);
      const std::int64_t upper = rng.chance(0.1) ? horizon : rng.uniform(lower + 1, horizon);
      problem.buffers.push_back({i * 3 + 1, lower, upper, rng.uniform(1, 1000)});
    }
    check_all(problem, "intervals seed " + std::to_string(seed));
  }
}

TEST(PlaceProperties, RandomDags) {
  for (std::uint64_t seed = 1; seed <= 1000; ++seed) {
    Rng rng(seed);
    const Graph graph = random_dag(static_cast<int>(rng.uniform(1, 80)), seed);
    const std::int64_t alignment = rng.chance(0.5) ? 1 : 64;
    check_all(problem_from_graph(graph, graph.order, alignment),
              "dag seed " + std::to_string(seed));
  }
}

TEST(PlaceProperties, RandomTrainingGraphs) {
  for (std::uint64_t seed = 1; seed <= 500; ++seed) {
    Rng rng(seed);
    const Graph graph = random_training_graph(static_cast<int>(rng.uniform(1, 30)), seed);
    const std::int64_t alignment = rng.chance(0.5) ? 1 : 512;
    check_all(problem_from_graph(graph, graph.order, alignment),
              "training seed " + std::to_string(seed));
  }
}

TEST(PlaceBest, StopsStartingPlacersAfterTheDeadlineButRunsTheFirst) {
  const Graph graph = random_training_graph(10, 3);
  const Problem problem = problem_from_graph(graph, graph.order);
  const auto placers = heuristic_placers();
  const BestPlacement best = place_best(problem, placers, Deadline(0));
  EXPECT_EQ(best.method, placers.front()->name());
  EXPECT_TRUE(is_valid(problem, best.placement.offsets));
}

TEST(PlaceBest, PersistentBuffersArePlacedLikeAnyOther) {
  // Two whole-time buffers and short ones in between: the short ones share space above them.
  const Problem problem{{{0, 0, 10, 100}, {1, 0, 10, 50}, {2, 2, 4, 30}, {3, 5, 8, 30}}, 1};
  const BestPlacement best = place_best(problem, heuristic_placers(), Deadline());
  EXPECT_TRUE(is_valid(problem, best.placement.offsets));
  EXPECT_EQ(best.placement.height, 180);
}

}  // namespace
}  // namespace tensorplan::mem::place
