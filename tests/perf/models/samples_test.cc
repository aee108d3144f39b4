#include "tensorplan/perf/models/samples.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "tensorplan/common/error.h"
#include "tensorplan/perf/dataset.h"
#include "tensorplan/perf/halide/featurizer.h"
#include "tensorplan/perf/models/cost_model.h"

namespace tensorplan::perf {
namespace {

TEST(Split, IsFixedByPipelineIndexSeventyTenTwenty) {
  int counts[3] = {0, 0, 0};
  for (int p = 0; p < 1000; ++p) ++counts[static_cast<int>(split_of(p))];
  EXPECT_EQ(counts[0], 700);
  EXPECT_EQ(counts[1], 100);
  EXPECT_EQ(counts[2], 200);
  EXPECT_EQ(split_of(7), Split::kValidation);
  EXPECT_EQ(split_of(18), Split::kTest);
  EXPECT_EQ(split_of(20), Split::kTrain);
}

TEST(Samples, LoadsTheCommittedShardWithConsistentShapes) {
  const auto all =
      load_samples(std::string(TENSORPLAN_SOURCE_DIR) + "/data/perf/shard-00000-of-00016.tpshard");
  ASSERT_GT(all.size(), 10u);
  int previous = -1;
  for (const auto& p : all) {
    EXPECT_GT(p.pipeline, previous);  // sorted, no duplicates
    previous = p.pipeline;
    EXPECT_EQ(p.pipeline % 16, 0);  // shard 0 of 16
    ASSERT_GE(p.schedules.size(), 2u);
    const auto stages = static_cast<std::size_t>(p.stages());
    EXPECT_EQ(p.pipeline_features.size(), stages * kPipelineFeatureCount);
    for (const auto& s : p.schedules) {
      EXPECT_EQ(s.schedule_features.size(), stages * kScheduleFeatureCount);
      EXPECT_GT(s.seconds, 0);
    }
  }
}

// A format-2 sample's label is the median over its timing rounds (the fastest round is kept in
// the shard, but it is not the label).
TEST(Samples, AVersion2ShardIsLabelledByTheMedianOverRounds) {
  const std::string path =
      std::string(TENSORPLAN_SOURCE_DIR) + "/data/perf-v2/shard-00000-of-00032.tpshard";
  const Shard shard = read_shard(path);
  std::map<std::pair<int, int>, const ScheduleRecord*> records;
  for (const ScheduleRecord& s : shard.schedules) records[{s.pipeline, s.sample}] = &s;
  const auto all = load_samples(path);
  ASSERT_GT(all.size(), 10u);
  int labels = 0, median_above_fastest = 0;
  for (const auto& p : all) {
    for (const auto& s : p.schedules) {
      const ScheduleRecord& r = *records.at({p.pipeline, s.sample});
      ASSERT_GE(r.rounds.size(), 7u);
      EXPECT_EQ(s.seconds, r.label_seconds);
      ++labels;
      if (r.label_seconds > *std::min_element(r.rounds.begin(), r.rounds.end()))
        ++median_above_fastest;
    }
  }
  EXPECT_GT(labels, 300);
  EXPECT_GT(median_above_fastest, labels / 2);  // so the two are told apart here
}

TEST(CostModelFactory, RejectsUnknownKindsAndNonModelFiles) {
  EXPECT_THROW(make_cost_model("no-such-model"), Error);
  EXPECT_THROW(load_cost_model(std::string(TENSORPLAN_SOURCE_DIR) + "/README.md"), Error);
  EXPECT_THROW(load_cost_model("/nonexistent/model"), Error);
}

}  // namespace
}  // namespace tensorplan::perf
