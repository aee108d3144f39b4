// Hand-made graphs whose best order is known, for each order heuristic and the best-of chooser.
#include <gtest/gtest.h>

#include "tensorplan/common/error.h"
#include "tensorplan/mem/schedule/as_late_as_possible.h"
#include "tensorplan/mem/schedule/depth_first.h"
#include "tensorplan/mem/schedule/least_peak.h"
#include "tensorplan/mem/schedule/peak_aware.h"
#include "tensorplan/mem/schedule/reference.h"
#include "tensorplan/mem/schedule/scheduler.h"
#include "tensorplan/mem/simulate.h"
#include "test_graphs.h"

namespace tensorplan::mem::schedule {
namespace {

using testing::GraphBuilder;

// Two independent branches, each a big temporary reduced to a small result, joined at the end.
// The reference order interleaves them (both big temporaries live at once: 10 + 201); finishing
// one branch first needs 10 + x2 + y1 + y2 = 10 + 102.
Graph two_branches() {
  GraphBuilder b;
  const int w = b.weight(10);
  const int x1 = b.tensor(100), x2 = b.tensor(1), y1 = b.tensor(100), y2 = b.tensor(1);
  const int out = b.tensor(1, TensorKind::kActivation, /*output=*/true);
  b.node({w}, {x1});   // 0
  b.node({w}, {y1});   // 1
  b.node({x1}, {x2});  // 2
  b.node({y1}, {y2});  // 3
  b.node({x2, y2}, {out});
  return b.finish("two-branches");
}

// Eager order computes `big` first although only the last node reads it; the best order runs
// the other chain first: 10 + 600 + 10 at its peak instead of 10 + 500 + 600 + 10.
Graph early_side_branch() {
  GraphBuilder b;
  const int w = b.weight(10);
  const int big = b.tensor(500), a = b.tensor(600);
  const int r = b.tensor(10, TensorKind::kActivation, true),
            s = b.tensor(10, TensorKind::kActivation, true);
  b.node({w}, {big});  // 0
  b.node({w}, {a});    // 1
  b.node({a}, {r});    // 2
  b.node({big}, {s});  // 3
  return b.finish("early-side-branch");
}

std::vector<std::unique_ptr<Scheduler>> all() { return heuristic_schedulers(); }

TEST(Schedule, EverySchedulerHasADistinctName) {
  const auto schedulers = all();
  ASSERT_LE(schedulers.size(), 5u);
  EXPECT_EQ(schedulers.front()->name(), "reference");
  for (std::size_t i = 0; i < schedulers.size(); ++i)
    for (std::size_t j = i + 1; j < schedulers.size(); ++j)
      EXPECT_NE(schedulers[i]->name(), schedulers[j]->name());
}

TEST(Schedule, ReferenceReturnsTheGraphsOrder) {
  const Graph g = two_branches();
  EXPECT_EQ(ReferenceOrder().order(g, Deadline()), g.order);
}

TEST(Schedule, FinishingOneBranchBeatsInterleaving) {
  const Graph g = two_branches();
  ASSERT_EQ(max_live(g, g.order), 211);
  EXPECT_EQ(max_live(g, LeastPeakFirst().order(g, Deadline())), 112);
  EXPECT_EQ(max_live(g, PeakAware().order(g, Deadline())), 112);
  EXPECT_EQ(max_live(g, DepthFirst().order(g, Deadline())), 112);
  const BestOrder best = best_order(g, all(), Deadline());
  EXPECT_EQ(best.max_live, 112);
  EXPECT_EQ(best.method, "least_peak");  // the first that reaches it
  EXPECT_EQ(max_live(g, best.order), best.max_live);
}

TEST(Schedule, LateProducerDefersAnEarlySideBranch) {
  const Graph g = early_side_branch();
  ASSERT_EQ(max_live(g, g.order), 1120);
  const std::vector<int> late = AsLateAsPossible().order(g, Deadline());
  EXPECT_EQ(late, (std::vector<int>{1, 2, 0, 3}));
  EXPECT_EQ(max_live(g, late), 620);
  // Depth-first finishes the side branch first, which frees `big` before `a` exists: close.
  EXPECT_EQ(max_live(g, DepthFirst().order(g, Deadline())), 630);
  const BestOrder best = best_order(g, all(), Deadline());
  EXPECT_EQ(best.max_live, 620);
  EXPECT_EQ(best.method, "reference_alap");
}

TEST(Schedule, ReadsOfOneTensorTwiceAndNodesWithoutOutputs) {
  GraphBuilder b;
  const int w = b.weight(8);
  const int a = b.tensor(16), g = b.tensor(4, TensorKind::kGradient, true);
  b.node({w}, {a});
  b.node({a, a, w}, {g});  // reads `a` twice: freed once, after this step
  b.node({w, g}, {});      // an in-place update
  const Graph graph = b.finish();
  for (const auto& s : all()) {
    const auto order = s->order(graph, Deadline());
    EXPECT_TRUE(is_topological_order(graph, order)) << s->name();
    EXPECT_EQ(max_live(graph, order), 28) << s->name();
  }
}

TEST(Schedule, EmptyGraph) {
  GraphBuilder b;
  b.weight(64);
  const Graph g = b.finish();
  for (const auto& s : all()) EXPECT_TRUE(s->order(g, Deadline()).empty()) << s->name();
  const BestOrder best = best_order(g, all(), Deadline());
  EXPECT_EQ(best.max_live, 64);
  EXPECT_EQ(best.method, "reference");
}

TEST(Schedule, ExpiredDeadlineStillRunsTheFirst) {
  const Graph g = two_branches();
  const BestOrder best = best_order(g, all(), Deadline(0));
  EXPECT_EQ(best.method, "reference");
  EXPECT_EQ(best.order, g.order);
  EXPECT_EQ(best.max_live, 211);
}

TEST(Schedule, NoSchedulersIsAnError) {
  EXPECT_THROW(best_order(two_branches(), {}, Deadline()), Error);
}

// A broken scheduler's order must not be returned as the best.
class Backwards : public Scheduler {
 public:
  std::string name() const override { return "backwards"; }
  std::vector<int> order(const Graph& graph, const Deadline&) const override {
    return {graph.order.rbegin(), graph.order.rend()};
  }
};

TEST(Schedule, InvalidOrderIsRejected) {
  std::vector<std::unique_ptr<Scheduler>> schedulers;
  schedulers.push_back(std::make_unique<Backwards>());
  EXPECT_THROW(best_order(two_branches(), schedulers, Deadline()), Error);
}

}  // namespace
}  // namespace tensorplan::mem::schedule
