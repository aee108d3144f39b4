#include "tensorplan/mem/check.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/json.h"
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

// Extreme values: sizes and offsets near 2^62 and 2^63, alignments of 2^62 and more.

constexpr std::int64_t k62 = std::int64_t{1} << 62;
constexpr std::int64_t kI64Max = std::numeric_limits<std::int64_t>::max();

// `n` persistent tensors (all live during the whole step) read by one node. Built without
// link_and_validate, which would refuse sizes that add up to more than 2^62: the checker must
// stand on its own.
Graph all_live(const std::vector<std::int64_t>& sizes) {
  Graph graph;
  graph.name = "all-live";
  Node node;
  node.id = 0;
  for (std::size_t t = 0; t < sizes.size(); ++t) {
    Tensor tensor;
    tensor.id = static_cast<std::int64_t>(t);
    tensor.size = sizes[t];
    tensor.kind = TensorKind::kInput;
    graph.tensors.push_back(tensor);
    node.inputs.push_back(static_cast<int>(t));
  }
  graph.nodes.push_back(node);
  graph.order = {0};
  return graph;
}

// The oracle: exact arithmetic in 128 bits and a comparison of every pair, sharing no code with
// the checker. Every tensor here is live with every other.
__extension__ typedef __int128 Wide;
bool oracle_valid(const std::vector<std::int64_t>& sizes, const Plan& plan,
                  std::int64_t alignment) {
  std::vector<Wide> lo, hi;
  Wide top = 0;
  for (std::size_t t = 0; t < sizes.size(); ++t) {
    if (sizes[t] == 0) continue;
    if (plan.offsets[t] < 0 || plan.offsets[t] % alignment != 0) return false;
    const Wide rounded = (Wide{sizes[t]} + alignment - 1) / alignment * alignment;
    lo.push_back(plan.offsets[t]);
    hi.push_back(Wide{plan.offsets[t]} + rounded);
    if (hi.back() > kI64Max) return false;  // no arena can hold it
    top = std::max(top, hi.back());
  }
  for (std::size_t i = 0; i < lo.size(); ++i)
    for (std::size_t j = i + 1; j < lo.size(); ++j)
      if (lo[i] < hi[j] && lo[j] < hi[i]) return false;
  return top == plan.arena_bytes;
}

TEST(CheckExtreme, TwoTensorsNear2To62SharingAnOffsetAreRejected) {
  const Graph graph = all_live({k62, k62});
  // Both at offset 2^62: each would end at 2^63, past int64 (the end used to wrap negative).
  CheckResult r = check_plan(graph, Plan{"all-live", {0}, {k62, k62}, kI64Max});
  EXPECT_FALSE(r.valid);
  EXPECT_TRUE(mentions(r, "overlap") || mentions(r, "past the largest")) << r.problems.front();
  // At 0 and 2^62 - 1 they overlap by one byte.
  r = check_plan(graph, Plan{"all-live", {0}, {0, k62 - 1}, kI64Max});
  EXPECT_FALSE(r.valid);
  EXPECT_TRUE(mentions(r, "overlap"));
  // Sizes 2^62 - 1 at 2^62 and 2^62 at 0 touch without overlapping and end at exactly INT64_MAX.
  const Graph fits = all_live({k62 - 1, k62});
  r = check_plan(fits, Plan{"all-live", {0}, {k62, 0}, kI64Max});
  EXPECT_TRUE(r.valid) << (r.problems.empty() ? "" : r.problems.front());
  EXPECT_EQ(r.arena_bytes, kI64Max);
  EXPECT_EQ(r.max_live, kI64Max);
}

TEST(CheckExtreme, HugeAlignmentDoesNotLetEverythingShareOffsetZero) {
  // Three live tensors at offset 0 with arena 0: rounding up to 2^62 or more used to wrap to a
  // negative size, so nothing overlapped and the arena "ended" at 0.
  const Graph graph = all_live({10, 20, 30});
  for (std::int64_t alignment : {k62, k62 + 1, kI64Max / 2 + 1, kI64Max}) {
    const CheckResult r = check_plan(graph, Plan{"all-live", {0}, {0, 0, 0}, 0}, alignment);
    EXPECT_FALSE(r.valid) << alignment;
    EXPECT_TRUE(mentions(r, "overlap")) << alignment;
  }
  // One tensor at offset 0 with alignment 2^62 takes exactly 2^62 bytes.
  const CheckResult one = check_plan(all_live({10}), Plan{"all-live", {0}, {0}, k62}, k62);
  EXPECT_TRUE(one.valid) << (one.problems.empty() ? "" : one.problems.front());
  EXPECT_EQ(one.arena_bytes, k62);
}

TEST(CheckExtreme, AgreesWithA128BitOracleOnRandomExtremePlans) {
  std::mt19937_64 rng(17);
  auto pick = [&](const std::vector<std::int64_t>& values) {
    return values[rng() % values.size()];
  };
  const std::vector<std::int64_t> sizes_pool = {1,           7,       512,     k62 / 3,
                                                k62 / 2 - 1, k62 / 2, k62 - 1, k62};
  const std::vector<std::int64_t> alignments = {1, 2, 512, k62 / 2, k62, k62 + 1, kI64Max};
  int valid = 0, invalid = 0;
  for (int round = 0; round < 20000; ++round) {
    const int n = 1 + static_cast<int>(rng() % 4);
    const std::int64_t alignment = pick(alignments);
    std::vector<std::int64_t> sizes(n);
    for (auto& s : sizes)
      s = rng() % 5 == 0 ? static_cast<std::int64_t>(rng() % (k62 + 1)) : pick(sizes_pool);
    Plan plan{"all-live", {0}, std::vector<std::int64_t>(n), 0};
    // Offsets: 0, stacked end to end (often valid), or extreme values near 2^62 and 2^63.
    Wide stacked = 0;
    for (int t = 0; t < n; ++t) {
      switch (rng() % 4) {
        case 0:
          plan.offsets[t] = 0;
          break;
        case 1:
          plan.offsets[t] = stacked > kI64Max ? kI64Max : static_cast<std::int64_t>(stacked);
          break;
        case 2:
          plan.offsets[t] = pick({k62, k62 - 1, kI64Max - 1, kI64Max, kI64Max / 2 + 1});
          break;
        default:
          plan.offsets[t] = static_cast<std::int64_t>(rng() >> 1);
          break;
      }
      if (rng() % 2 && alignment > 1)  // align it, as a planner would
        plan.offsets[t] -= plan.offsets[t] % alignment;
      stacked = Wide{plan.offsets[t]} + (Wide{sizes[t]} + alignment - 1) / alignment * alignment;
    }
    // The arena: usually the true top (so the other checks decide), sometimes not.
    Wide top = 0;
    for (int t = 0; t < n; ++t)
      top = std::max(
          top, Wide{plan.offsets[t]} + (Wide{sizes[t]} + alignment - 1) / alignment * alignment);
    plan.arena_bytes =
        rng() % 8 == 0 ? 0 : (top > kI64Max ? kI64Max : static_cast<std::int64_t>(top));
    const bool expected = oracle_valid(sizes, plan, alignment);
    const CheckResult r = check_plan(all_live(sizes), plan, alignment);
    ASSERT_EQ(r.valid, expected) << "round " << round << " alignment " << alignment;
    (expected ? valid : invalid) += 1;
  }
  // Both outcomes are exercised.
  EXPECT_GT(valid, 500);
  EXPECT_GT(invalid, 500);
}

std::string plan_error(const Graph& graph, const std::string& text) {
  try {
    plan_from_json(parse_json("plan.json", text), graph, "plan.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(PlanIo, OffsetKeysMustBeCanonicalDecimalAndUnique) {
  const Graph graph = chain();  // tensor ids 0, 1, 2
  const std::string head =
      R"({"format": "tensorplan.plan", "version": 1, "graph": "chain", "order": [0, 1],
          "arena_bytes": 200, "offsets": {"0": 0, "1": 100, )";
  EXPECT_EQ(plan_error(graph, head + R"("2": 150}})"), "(accepted)");
  for (const char* key : {" 2", "+2", "02", "2 ", "0x2", "-0", "2.0", ""}) {
    const std::string e = plan_error(graph, head + "\"" + key + "\": 150}}");
    EXPECT_NE(e.find("is not a tensor id in canonical decimal form"), std::string::npos)
        << "key '" << key << "': " << e;
  }
  // The same key twice: the last used to win silently.
  const std::string e = plan_error(graph, head + R"("2": 150, "2": 0}})");
  EXPECT_NE(e.find("duplicate key \"2\""), std::string::npos) << e;
}

TEST(PlanIo, ThePlansGraphNameMustBeTheGraphs) {
  const Graph graph = chain();
  Json doc = plan_to_json(good_plan(), graph);
  EXPECT_EQ(plan_error(graph, doc.dump()), "(accepted)");
  doc["graph"] = "resnet50";
  const std::string e = plan_error(graph, doc.dump());
  EXPECT_NE(e.find("the plan is for graph \"resnet50\", but the graph given is \"chain\""),
            std::string::npos)
      << e;
  doc["graph"] = 7;
  EXPECT_NE(plan_error(graph, doc.dump()).find("/graph"), std::string::npos);
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
