// The featurization records map to the right stages: Adams2019's op histogram of each record
// agrees with the calls counted in the stage's own definition.
#include <gtest/gtest.h>

#include "tensorplan/common/error.h"
#include "tensorplan/common/rng.h"
#include "tensorplan/perf/halide/featurizer.h"
#include "tensorplan/perf/halide/sampler.h"

namespace tensorplan::perf {
namespace {

TEST(Featurization, RecordsMapToTheirStages) {
  int stages_checked = 0;
  for (std::uint64_t i = 0; i < 6; ++i) {
    SampleSpec spec;
    spec.pipeline_seed = derive_seed(5, i);
    spec.pipeline = tiny_pipeline_options();
    spec.pipeline.max_stages = 10;
    spec.beam_size = 1;
    spec.random_dropout = 50;
    spec.search_seed = i;
    spec.time_it = false;  // schedule and featurize only
    const SampleResult r = run_sample(spec, SampleLimits{});
    ASSERT_EQ(r.status, "ok") << r.detail;
    ASSERT_TRUE(r.has_schedule);
    const int n = static_cast<int>(r.graph.stages.size());
    ASSERT_EQ(r.features.schedule.size(), static_cast<std::size_t>(n * kScheduleFeatureCount));
    ASSERT_EQ(r.features.pipeline.size(), static_cast<std::size_t>(n * kPipelineFeatureCount));
    Featurization f = r.features;
    f.stages = n;
    const int func_call = op_type_index("FuncCall"), self_call = op_type_index("SelfCall"),
              image_call = op_type_index("ImageCall");
    for (int s = 0; s < n; ++s) {
      const StageInfo& stage = r.graph.stages[s];
      EXPECT_EQ(f.op_count(s, func_call), stage.func_calls) << stage.name << " of pipeline " << i;
      EXPECT_EQ(f.op_count(s, self_call), stage.self_calls) << stage.name << " of pipeline " << i;
      EXPECT_EQ(f.op_count(s, image_call), stage.image_calls) << stage.name << " of pipeline " << i;
      // Every stage is computed somewhere: it has a positive point count minimum.
      EXPECT_GT(f.schedule_feature(s, 5), 0) << "points_computed_minimum of " << stage.name;
      stages_checked++;
    }
  }
  EXPECT_GT(stages_checked, 20);
}

TEST(Featurization, RejectsAWrongSize) {
  std::vector<std::uint8_t> bytes((kScheduleFeatureCount + kPipelineFeatureCount) * 4 * 3);
  EXPECT_NO_THROW(parse_featurization(bytes, 3));
  EXPECT_THROW(parse_featurization(bytes, 4), tensorplan::Error);
  bytes.pop_back();
  EXPECT_THROW(parse_featurization(bytes, 3), tensorplan::Error);
}

}  // namespace
}  // namespace tensorplan::perf
