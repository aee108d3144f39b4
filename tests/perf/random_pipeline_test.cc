// The generator: same seed, same pipeline (in any process state); the op kinds the issue asks for
// all occur; the stage graph is well formed.
#include "tensorplan/perf/halide/random_pipeline.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "tensorplan/common/rng.h"
#include "tensorplan/perf/dataset.h"
#include "tensorplan/perf/halide/sampler.h"
#include "tensorplan/perf/halide/stage_graph.h"

namespace tensorplan::perf {
namespace {

std::string describe(std::uint64_t seed, const PipelineOptions& options) {
  const GeneratedPipeline p = generate_pipeline(seed, options);
  const StageGraph g = build_stage_graph(p.output, p.func_op);
  Json j = stage_graph_to_json(g);
  j["ops"] = p.ops;
  j["output"] = {p.output_shape.width, p.output_shape.height, p.output_shape.channels};
  return j.dump();
}

TEST(RandomPipeline, SameSeedSamePipeline) {
  const PipelineOptions options;
  for (std::uint64_t i = 0; i < 10; ++i) {
    const std::uint64_t seed = derive_seed(7, i);
    const std::string first = describe(seed, options);
    describe(derive_seed(8, i), options);  // other pipelines in between must not matter
    EXPECT_EQ(first, describe(seed, options)) << "seed index " << i;
  }
  EXPECT_NE(describe(derive_seed(7, 0), options), describe(derive_seed(7, 1), options));
}

TEST(RandomPipeline, CoversTheOpKindsAndRespectsTheBudget) {
  const PipelineOptions options;
  std::set<std::string> kinds;
  for (std::uint64_t i = 0; i < 150; ++i) {
    const GeneratedPipeline p = generate_pipeline(derive_seed(11, i), options);
    for (const auto& op : p.ops) kinds.insert(op);
    const StageGraph g = build_stage_graph(p.output, p.func_op);
    EXPECT_GE(static_cast<int>(g.stages.size()), 2);
    EXPECT_LE(static_cast<int>(g.stages.size()), options.max_stages + 1);
    EXPECT_GT(p.output_shape.width, 0);
  }
  for (const char* kind :
       {"pointwise", "cast", "binary", "conv1d", "conv2d", "conv2d_depthwise", "max_pool",
        "avg_pool", "pad", "upsample", "downsample", "channel_mix", "scan", "histogram", "lookup",
        "reduce_sum", "reduce_max", "gather", "transpose"}) {
    EXPECT_TRUE(kinds.count(kind)) << kind;
  }
}

TEST(StageGraph, EdgesFollowCallsAndUpdateChains) {
  for (std::uint64_t i = 0; i < 20; ++i) {
    const GeneratedPipeline p = generate_pipeline(derive_seed(3, i), PipelineOptions{});
    const StageGraph g = build_stage_graph(p.output, p.func_op);
    const int n = static_cast<int>(g.stages.size());
    ASSERT_EQ(g.output_stage, n - 1);
    std::vector<int> incoming(n, 0), outgoing(n, 0);
    for (const StageEdge& e : g.edges) {
      ASSERT_LT(e.producer, e.consumer) << "stages must be in topological order";
      incoming[e.consumer]++;
      outgoing[e.producer]++;
      if (e.update_chain) {
        EXPECT_EQ(g.stages[e.producer].func, g.stages[e.consumer].func);
        EXPECT_EQ(g.stages[e.producer].definition + 1, g.stages[e.consumer].definition);
      } else {
        EXPECT_GT(e.calls, 0);
      }
    }
    for (int s = 0; s < n; ++s) {
      const StageInfo& stage = g.stages[s];
      // Every stage but the output feeds something; every stage reads a Func or an input.
      if (s != g.output_stage) {
        EXPECT_GT(outgoing[s], 0) << stage.name;
      }
      if (stage.definition > 0 || !stage.inputs_read.empty()) continue;
      if (stage.func_calls > 0) {
        EXPECT_GT(incoming[s], 0) << stage.name;
      }
    }
  }
}

}  // namespace
}  // namespace tensorplan::perf

namespace tensorplan::perf {
namespace {

// The dataset in data/perf was generated with this generator; --resume continues it only while the
// same seeds still give the same pipelines. If this test fails after a deliberate change to the
// generator, bump kPipelineGeneratorVersion (resume then refuses old shards) and update the hash.
TEST(RandomPipeline, GeneratorIsPinnedToTheDataset) {
  std::uint64_t hash = 1469598103934665603ULL;  // FNV-1a over the descriptions
  for (std::uint64_t p = 0; p < 12; ++p) {
    for (unsigned char ch : describe(derive_seed(1, p), PipelineOptions{})) {
      hash = (hash ^ ch) * 1099511628211ULL;
    }
  }
  EXPECT_EQ(kPipelineGeneratorVersion, 1);
  EXPECT_EQ(fmt::format("{:016x}", hash), "2b7585b59f51ac4a")
      << "the generator changed: see the comment above";
}

}  // namespace
}  // namespace tensorplan::perf

namespace tensorplan::perf {
namespace {

// The committed dataset's pipelines are exactly what the generator makes from their seeds.
TEST(RandomPipeline, RegeneratesTheCommittedDataset) {
  const std::string shard =
      std::string(TENSORPLAN_SOURCE_DIR) + "/data/perf/shard-00000-of-00016.tpshard";
  if (!std::filesystem::exists(shard)) FAIL() << "no committed shard " << shard;
  const Shard s = read_shard(shard);
  ASSERT_FALSE(s.pipelines.empty());
  for (const PipelineRecord& p : s.pipelines) {
    const GeneratedPipeline g = generate_pipeline(p.seed, PipelineOptions{});
    EXPECT_EQ(g.ops, p.ops) << "pipeline " << p.index;
    EXPECT_EQ(stage_graph_to_json(build_stage_graph(g.output, g.func_op)).dump(),
              stage_graph_to_json(p.graph).dump())
        << "pipeline " << p.index;
  }
}

}  // namespace
}  // namespace tensorplan::perf
