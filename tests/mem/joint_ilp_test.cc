// The joint order-and-placement ILP against exhaustive search (every topological order, each
// placed optimally) on tiny graphs, and in the planner from the two-phase plan.
#include "tensorplan/mem/joint_ilp.h"

#include <gtest/gtest.h>

#include <functional>
#include <limits>

#include "support/random_graph.h"
#include "tensorplan/mem/check.h"
#include "tensorplan/mem/graph_io.h"
#include "tensorplan/mem/place/problem.h"
#include "tensorplan/mem/place/search.h"
#include "tensorplan/mem/planner.h"

namespace tensorplan::mem {
namespace {

// The least arena over every topological order, each placed optimally by the exact search.
std::int64_t exhaustive_optimum(const Graph& graph, std::int64_t alignment) {
  const int n = graph.num_nodes();
  std::vector<int> order, missing(n, 0);
  for (int v = 0; v < n; ++v) missing[v] = static_cast<int>(predecessors(graph, v).size());
  std::vector<std::vector<int>> successors(n);
  for (int v = 0; v < n; ++v)
    for (int p : predecessors(graph, v)) successors[p].push_back(v);
  std::int64_t best = std::numeric_limits<std::int64_t>::max();
  std::vector<bool> done(n, false);
  std::function<void()> extend = [&] {
    if (static_cast<int>(order.size()) == n) {
      place::SearchOptions search;
      search.minimize = true;
      const place::SearchResult placed =
          place::search_placement(place::problem_from_graph(graph, order, alignment), search);
      best = std::min(best, placed.placement->height);
      return;
    }
    for (int v = 0; v < n; ++v) {
      if (done[v] || missing[v] > 0) continue;
      done[v] = true;
      order.push_back(v);
      for (int s : successors[v]) --missing[s];
      extend();
      for (int s : successors[v]) ++missing[s];
      order.pop_back();
      done[v] = false;
    }
  };
  extend();
  return best;
}

TEST(JointIlp, OptimumEqualsExhaustiveSearchOnTinyGraphs) {
  int proven = 0;
  for (std::uint64_t seed = 0; seed < 25; ++seed) {
    const Graph g = random_dag(2 + static_cast<int>(seed % 5), seed, 50);
    SCOPED_TRACE(seed);
    JointIlpOptions options;
    options.deadline = Deadline(60);
    const JointIlpResult solved = solve_joint_ilp(g, options);
    ASSERT_FALSE(solved.plan.order.empty());
    const CheckResult check = check_plan(g, solved.plan, 1);
    ASSERT_TRUE(check.valid) << check.problems.front();
    EXPECT_EQ(solved.arena_bytes, check.arena_bytes);
    // Whatever the machine's speed: the bound holds, and a proven optimum is the true one.
    const std::int64_t optimum = exhaustive_optimum(g, 1);
    EXPECT_LE(solved.lower_bound, optimum);
    EXPECT_GE(solved.arena_bytes, optimum);
    if (solved.lower_bound >= solved.arena_bytes) {
      EXPECT_EQ(solved.arena_bytes, optimum);
      ++proven;
    }
  }
  EXPECT_GT(proven, 0);  // the smallest graphs are proven in milliseconds
}

TEST(JointIlp, NeverWorseThanItsStartAndHonoursAlignment) {
  for (std::uint64_t seed = 0; seed < 4; ++seed) {
    const Graph g = random_dag(6, 100 + seed, 3000);
    PlanOptions two_phase;
    two_phase.time_limit = 2;
    two_phase.alignment = 256;
    const PlanReport planned = plan_memory(g, two_phase);
    JointIlpOptions options;
    options.deadline = Deadline(3);  // keeps the start if nothing better is found by then
    options.alignment = 256;
    options.start = planned.plan;
    const JointIlpResult solved = solve_joint_ilp(g, options);
    SCOPED_TRACE(seed);
    const CheckResult check = check_plan(g, solved.plan, 256);
    ASSERT_TRUE(check.valid) << check.problems.front();
    EXPECT_LE(solved.arena_bytes, planned.arena_bytes);
    EXPECT_LE(solved.lower_bound, solved.arena_bytes);
  }
}

TEST(JointIlp, ThePlannerRunsItWhenAsked) {
  const Graph g = read_graph(std::string(TENSORPLAN_SOURCE_DIR) + "/models/mlp-b32-sgd.json");
  PlanOptions options;
  options.time_limit = 4;
  options.joint = true;
  const PlanReport r = plan_memory(g, options);
  EXPECT_TRUE(check_plan(g, r.plan, r.plan.alignment).valid);
  EXPECT_LE(r.arena_bytes, r.two_phase_arena_bytes);
}

}  // namespace
}  // namespace tensorplan::mem
