// Property tests of the order heuristics over thousands of random DAGs (fixed seeds), and a
// comparison with the true optimum, found by enumerating every topological order of small DAGs.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <iostream>
#include <limits>
#include <map>

#include "support/random_graph.h"
#include "tensorplan/common/error.h"
#include "tensorplan/mem/lower_bound.h"
#include "tensorplan/mem/schedule/exact_dp.h"
#include "tensorplan/mem/schedule/scheduler.h"
#include "tensorplan/mem/schedule/window_reordering.h"
#include "tensorplan/mem/simulate.h"
#include "test_graphs.h"

namespace tensorplan::mem::schedule {
namespace {

// Checks every scheduler's order and best_order's choice on one graph.
void check_graph(const Graph& g) {
  SCOPED_TRACE(g.name);
  const auto schedulers = heuristic_schedulers();
  std::vector<std::int64_t> peaks;
  for (const auto& s : schedulers) {
    const auto order = s->order(g, Deadline());
    std::string why;
    ASSERT_TRUE(is_topological_order(g, order, &why)) << s->name() << ": " << why;
    peaks.push_back(max_live(g, order));
  }
  const BestOrder best = best_order(g, schedulers, Deadline());
  ASSERT_TRUE(is_topological_order(g, best.order));
  EXPECT_EQ(best.max_live, max_live(g, best.order));
  EXPECT_LE(best.max_live, max_live(g, g.order));
  std::size_t first_best = 0;
  for (std::size_t i = 0; i < peaks.size(); ++i) {
    EXPECT_LE(best.max_live, peaks[i]) << schedulers[i]->name();
    if (peaks[i] < peaks[first_best]) first_best = i;
  }
  EXPECT_EQ(best.method, schedulers[first_best]->name());  // ties go to the earlier scheduler
}

TEST(ScheduleProperty, RandomDagsGetValidOrdersAndBestIsNeverWorse) {
  for (std::uint64_t seed = 0; seed < 3000; ++seed) {
    check_graph(random_dag(static_cast<int>(seed % 50) + 1, seed));
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(ScheduleProperty, RandomTrainingGraphsGetValidOrdersAndBestIsNeverWorse) {
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    check_graph(random_training_graph(static_cast<int>(seed % 30) + 1, seed));
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// The lowest max-live over all topological orders, by enumeration (only for a few nodes).
std::int64_t optimum_by_enumeration(const Graph& g) {
  const int n = g.num_nodes();
  std::vector<int> unmet(n, 0);
  for (int v = 0; v < n; ++v) unmet[v] = static_cast<int>(predecessors(g, v).size());
  std::vector<std::vector<int>> successors(n);
  for (int v = 0; v < n; ++v)
    for (int p : predecessors(g, v)) successors[p].push_back(v);
  std::vector<int> order;
  std::vector<char> used(n, 0);
  std::int64_t best = std::numeric_limits<std::int64_t>::max();
  std::function<void()> extend = [&] {
    if (static_cast<int>(order.size()) == n) {
      best = std::min(best, max_live(g, order));
      return;
    }
    for (int v = 0; v < n; ++v) {
      if (used[v] || unmet[v] > 0) continue;
      used[v] = 1;
      order.push_back(v);
      for (int s : successors[v]) --unmet[s];
      extend();
      for (int s : successors[v]) ++unmet[s];
      order.pop_back();
      used[v] = 0;
    }
  };
  extend();
  return best;
}

TEST(ScheduleProperty, SmallDagsAgainstTheOptimum) {
  const auto schedulers = heuristic_schedulers();
  std::map<std::string, int> optimal;  // how often each heuristic finds an optimal order
  int graphs = 0, best_optimal = 0;
  for (std::uint64_t seed = 0; seed < 5000; ++seed) {
    const Graph g = random_dag(static_cast<int>(seed % 8) + 1, 1000 + seed);
    SCOPED_TRACE(g.name);
    const std::int64_t optimum = optimum_by_enumeration(g);
    const BestOrder best = best_order(g, schedulers, Deadline());
    ASSERT_GE(best.max_live, optimum);
    ++graphs;
    best_optimal += best.max_live == optimum;
    for (const auto& s : schedulers)
      optimal[s->name()] += max_live(g, s->order(g, Deadline())) == optimum;
  }
  // Reported, not asserted: heuristics need not be optimal.
  std::cout << "[ schedule ] optimal on " << graphs << " random DAGs of 1-8 nodes: best_order "
            << best_optimal;
  for (const auto& [name, count] : optimal) std::cout << ", " << name << " " << count;
  std::cout << "\n";
  EXPECT_GT(best_optimal, optimal["reference"]);
}

// The exact down-set search finds the true optimum (with and without a known upper bound), and
// the order it returns has exactly that peak.
TEST(ExactDp, EqualsEnumerationOnSmallDags) {
  int improved = 0;
  for (std::uint64_t seed = 0; seed < 3000; ++seed) {
    const Graph g = seed % 2 == 0 ? random_dag(static_cast<int>(seed % 9) + 1, 9000 + seed)
                                  : random_training_graph(static_cast<int>(seed % 3) + 1, seed);
    if (g.num_nodes() > 9) continue;
    SCOPED_TRACE(g.name);
    const std::int64_t optimum = optimum_by_enumeration(g);
    const ExactDpResult free = solve_order_exact(g, ExactDpOptions(), Deadline());
    ASSERT_TRUE(free.complete);
    ASSERT_EQ(free.optimum, optimum);
    ASSERT_TRUE(is_topological_order(g, free.order));
    ASSERT_EQ(max_live(g, free.order), optimum);

    const BestOrder heuristic = best_order(g, heuristic_schedulers(), Deadline());
    ExactDpOptions bounded;
    bounded.upper_bound = heuristic.max_live;
    const ExactDpResult better = solve_order_exact(g, bounded, Deadline());
    ASSERT_TRUE(better.complete);
    ASSERT_EQ(better.optimum, optimum);
    if (better.order.empty()) {
      ASSERT_EQ(heuristic.max_live, optimum);  // nothing beats it: the heuristic was optimal
    } else {
      ASSERT_LT(optimum, heuristic.max_live);
      ASSERT_TRUE(is_topological_order(g, better.order));
      ASSERT_EQ(max_live(g, better.order), optimum);
      ++improved;
    }
  }
  EXPECT_GT(improved, 0);  // the heuristics are not always optimal: the search must matter
}

// Window decomposition: never worse, always a valid order whose peak it reports truly; with a
// window as large as the graph it is the exact search and must reach the optimum.
TEST(ExactDp, WindowsNeverWorsenAndReachTheOptimumWhenTheWindowIsTheGraph) {
  int improved = 0;
  for (std::uint64_t seed = 0; seed < 400; ++seed) {
    const Graph g = seed % 2 == 0 ? random_dag(static_cast<int>(seed % 60) + 1, 300 + seed)
                                  : random_training_graph(static_cast<int>(seed % 12) + 1, seed);
    SCOPED_TRACE(g.name);
    const BestOrder start = best_order(g, heuristic_schedulers(), Deadline());
    const WindowImprovement w =
        improve_order_in_windows(g, start.order, WindowOptions(), Deadline());
    ASSERT_TRUE(is_topological_order(g, w.order));
    ASSERT_EQ(w.max_live, max_live(g, w.order));
    ASSERT_EQ(w.start_max_live, start.max_live);
    ASSERT_LE(w.max_live, start.max_live);
    improved += w.max_live < start.max_live;
    if (g.num_nodes() <= 9) {
      WindowOptions whole;
      whole.sizes = {g.num_nodes()};
      const WindowImprovement exact = improve_order_in_windows(g, g.order, whole, Deadline());
      ASSERT_EQ(exact.max_live, optimum_by_enumeration(g));
    }
  }
  EXPECT_GT(improved, 0);
}

TEST(ExactDp, GivesUpWithinItsBudgetAndRejectsHugeGraphs) {
  const Graph g = random_dag(60, 5);
  ExactDpOptions tiny;
  tiny.max_states = 10;
  EXPECT_FALSE(solve_order_exact(g, tiny, Deadline()).complete);
  EXPECT_FALSE(solve_order_exact(g, ExactDpOptions(), Deadline(0)).complete);
  EXPECT_THROW(solve_order_exact(random_dag(kExactDpMaxNodes + 1, 1), ExactDpOptions(), Deadline()),
               Error);
}

// The proven bounds never exceed the true optimum, the precedence bound is never weaker than the
// simple one, and it is strictly stronger on some graphs (else it would be pointless).
TEST(LowerBound, NeverAboveTheOptimumOnSmallDags) {
  int stronger = 0, tight = 0;
  for (std::uint64_t seed = 0; seed < 3000; ++seed) {
    const Graph g = seed % 2 == 0 ? random_dag(static_cast<int>(seed % 9) + 1, 7000 + seed)
                                  : random_training_graph(static_cast<int>(seed % 3) + 1, seed);
    if (g.num_nodes() > 9) continue;
    SCOPED_TRACE(g.name);
    const std::int64_t optimum = optimum_by_enumeration(g);
    const std::int64_t simple = simple_lower_bound(g);
    const std::int64_t precedence = precedence_lower_bound(g);
    ASSERT_LE(simple, optimum);
    ASSERT_LE(precedence, optimum);
    ASSERT_GE(precedence, simple);
    stronger += precedence > simple;
    tight += precedence == optimum;
  }
  EXPECT_GT(stronger, 0);
  std::cout << "[ bound ] precedence bound above the simple one on " << stronger
            << " graphs, equal to the optimum on " << tight << "\n";
}

// A hand-made training step: forward f1, f2, loss, backward b2, b1. The activation a1 is saved
// across the loss, so it is live at b2 whatever the order; the simple bound cannot see that.
TEST(LowerBound, CountsActivationsSavedAcrossTheLoss) {
  testing::GraphBuilder b;
  const int x = b.tensor(1, TensorKind::kInput);
  const int a1 = b.tensor(100), a2 = b.tensor(10);
  const int loss = b.tensor(1, TensorKind::kActivation, /*output=*/true);
  const int g2 = b.tensor(5, TensorKind::kTemporary);
  const int gx = b.tensor(3, TensorKind::kGradient, /*output=*/true);
  b.node({x}, {a1});
  b.node({a1}, {a2});
  b.node({a2}, {loss});
  b.node({loss, a2}, {g2});
  b.node({g2, a1}, {gx});
  const Graph g = b.finish();
  // At b2: x 1 + a1 100 + a2 10 + loss 1 + g2 5 = 117; the simple bound's best is one operator's
  // own inputs and outputs: f2's a1 + a2, plus x.
  EXPECT_EQ(simple_lower_bound(g), 111);
  EXPECT_EQ(precedence_lower_bound(g), 117);
  EXPECT_EQ(precedence_lower_bound(g), max_live(g, g.order));  // a chain: the bound is exact
  EXPECT_EQ(precedence_lower_bound(g, /*max_nodes=*/4), simple_lower_bound(g));
}

}  // namespace
}  // namespace tensorplan::mem::schedule
