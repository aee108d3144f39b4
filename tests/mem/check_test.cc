#include "tensorplan/mem/check.h"

#include <gtest/gtest.h>

#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/mem/graph_io.h"
#include "test_graphs.h"

namespace tensorplan::mem {
namespace {

using testing::GraphBuilder;

// x(100, input) -> n0 -> a(50) -> n1 -> b(50, output); a and b overlap in time at step 1.
Graph chain() {
  GraphBuilder g;
  const int x = g.tensor(100, TensorKind::kInput);
  const int a = g.tensor(50), b = g.tensor(50, TensorKind::kActivation, true);
  g.node({x}, {a});
  g.node({a}, {b});
  return g.finish("chain");
}

Plan good_plan() { return Plan{"chain", {0, 1}, {0, 100, 150}, 200}; }

bool mentions(const CheckResult& r, const std::string& text) {
  for (const auto& p : r.problems)
    if (p.find(text) != std::string::npos) return true;
  return false;
}

TEST(Check, AcceptsAValidPlan) {
  const CheckResult r = check_plan(chain(), good_plan());
  EXPECT_TRUE(r.valid);
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(r.max_live, 200);
  EXPECT_EQ(r.arena_bytes, 200);
}

TEST(Check, RejectsOverlapOfTensorsLiveTogether) {
  Plan p = good_plan();
  p.offsets = {0, 100, 120};  // b overlaps a at step 1
  p.arena_bytes = 170;
  const CheckResult r = check_plan(chain(), p);
  EXPECT_FALSE(r.valid);
  EXPECT_TRUE(mentions(r, "overlap")) << r.problems.front();
  p.offsets = {0, 100, 50};  // b overlaps x
  p.arena_bytes = 150;
  EXPECT_FALSE(check_plan(chain(), p).valid);
}

TEST(Check, AllowsSharingBetweenTensorsNeverLiveTogether) {
  GraphBuilder g;
  const int a = g.tensor(64), b = g.tensor(64), c = g.tensor(64, TensorKind::kActivation, true);
  g.node({}, {a});
  g.node({a}, {b});
  g.node({b}, {c});
  const Graph graph = g.finish();
  // a lives [0,1], b [1,2], c [2,2]: a and c may share addresses.
  EXPECT_TRUE(check_plan(graph, Plan{"test", {0, 1, 2}, {0, 64, 0}, 128}).valid);
  EXPECT_FALSE(check_plan(graph, Plan{"test", {0, 1, 2}, {0, 0, 64}, 128}).valid);
}

TEST(Check, RejectsBadOrders) {
  Plan p = good_plan();
  p.order = {1, 0};
  CheckResult r = check_plan(chain(), p);
  EXPECT_FALSE(r.valid);
  EXPECT_TRUE(mentions(r, "before it is produced"));
  p.order = {0};
  r = check_plan(chain(), p);
  EXPECT_FALSE(r.valid);
  EXPECT_TRUE(mentions(r, "never runs"));
  p.order = {0, 0};
  EXPECT_TRUE(mentions(check_plan(chain(), p), "runs twice"));
  p.order = {0, 5};
  EXPECT_TRUE(mentions(check_plan(chain(), p), "no such node"));
}

TEST(Check, RejectsMissingOffsetsWrongArenaAndMisalignment) {
  Plan p = good_plan();
  p.offsets[1] = -1;
  EXPECT_TRUE(mentions(check_plan(chain(), p), "has no offset"));
  p = good_plan();
  p.arena_bytes = 300;
  EXPECT_TRUE(mentions(check_plan(chain(), p), "arena_bytes is 300"));
  p = good_plan();
  const CheckResult aligned = check_plan(chain(), p, 64);
  EXPECT_TRUE(mentions(aligned, "not a multiple of 64"));
  EXPECT_THROW(require_valid(chain(), Plan{"chain", {0, 1}, {0, 0, 0}, 100}), Error);
}

TEST(Check, ZeroSizeTensorsNeedNoOffset) {
  GraphBuilder g;
  const int a = g.tensor(0), b = g.tensor(8, TensorKind::kActivation, true);
  g.node({}, {a});
  g.node({a}, {b});
  EXPECT_TRUE(check_plan(g.finish(), Plan{"test", {0, 1}, {-1, 0}, 8}).valid);
}

TEST(PlanIo, RoundTripsTheAlignment) {
  const Graph graph = chain();
  const std::string path = testing::temp_path("aligned-plan.json");
  Plan plan = good_plan();
  plan.alignment = 8;
  write_plan(plan, graph, path);
  EXPECT_EQ(read_plan(path, graph).alignment, 8);
  EXPECT_EQ(plan_to_json(plan, graph)["alignment"], 8);
}

TEST(PlanIo, RoundTripsAndRejectsUnknownIds) {
  const Graph graph = chain();
  const std::string path = testing::temp_path("plan.json");
  write_plan(good_plan(), graph, path);
  const Plan back = read_plan(path, graph);
  EXPECT_EQ(back.order, good_plan().order);
  EXPECT_EQ(back.offsets, good_plan().offsets);
  EXPECT_EQ(back.arena_bytes, 200);

  Json doc = plan_to_json(good_plan(), graph);
  doc["offsets"]["77"] = 0;
  write_file_atomic(path, doc.dump());
  EXPECT_THROW(read_plan(path, graph), Error);
  doc = plan_to_json(good_plan(), graph);
  doc["order"][0] = 42;
  write_file_atomic(path, doc.dump());
  try {
    read_plan(path, graph);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown node id 42"), std::string::npos);
  }
  doc = plan_to_json(good_plan(), graph);
  EXPECT_FALSE(doc.contains("alignment"));  // 1: not written
  doc["alignment"] = 0;
  write_file_atomic(path, doc.dump());
  EXPECT_THROW(read_plan(path, graph), Error);
  doc = plan_to_json(good_plan(), graph);
  doc["format"] = "tensorplan.graph";
  write_file_atomic(path, doc.dump());
  EXPECT_THROW(read_plan(path, graph), Error);
}

}  // namespace
}  // namespace tensorplan::mem
