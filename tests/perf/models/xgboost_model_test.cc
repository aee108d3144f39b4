// The XGBoost baselines on a synthetic relation: a schedule's time is the sum over stages of a
// cost that grows with its first schedule feature and its stage's first pipeline feature. Three
// more features of each kind are noise; the rest are zero.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/perf/halide/featurizer.h"
#include "tensorplan/perf/models/cost_model.h"
#include "tensorplan/perf/models/evaluate.h"
#include "tensorplan/perf/models/metrics.h"

namespace tensorplan::perf {
namespace {

std::vector<PipelineSamples> synthetic_pipelines(int count, int first_index, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<PipelineSamples> out;
  for (int i = 0; i < count; ++i) {
    PipelineSamples p;
    p.pipeline = first_index + i;
    const int stages = 2 + static_cast<int>(rng() % 4);
    p.graph.stages.resize(static_cast<std::size_t>(stages));
    p.pipeline_features.resize(static_cast<std::size_t>(stages) * kPipelineFeatureCount);
    for (std::size_t j = 0; j < p.pipeline_features.size(); ++j)
      if (j % kPipelineFeatureCount < 4) p.pipeline_features[j] = unit(rng);
    for (int k = 0; k < 12; ++k) {
      ScheduleSample s;
      s.sample = k;
      s.schedule_features.resize(static_cast<std::size_t>(stages) * kScheduleFeatureCount);
      for (std::size_t j = 0; j < s.schedule_features.size(); ++j)
        if (j % kScheduleFeatureCount < 4) s.schedule_features[j] = unit(rng);
      for (int st = 0; st < stages; ++st) {
        const double work =
            1 + 4 * p.pipeline_features[static_cast<std::size_t>(st) * kPipelineFeatureCount];
        const double speed =
            std::exp(3 * s.schedule_features[static_cast<std::size_t>(st) * kScheduleFeatureCount]);
        s.seconds += 1e-3 * work * speed;
      }
      p.schedules.push_back(std::move(s));
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<CostQuery> queries_of(const std::vector<PipelineSamples>& pipelines) {
  std::vector<CostQuery> q;
  for (const auto& p : pipelines)
    for (const auto& s : p.schedules) q.push_back({&p, &s.schedule_features});
  return q;
}

TrainOptions quick_options() {
  TrainOptions o;
  o.epochs = 80;
  o.quiet = true;
  o.seed = 7;
  return o;
}

class XgboostKinds : public ::testing::TestWithParam<std::string> {};

TEST_P(XgboostKinds, LearnsTheSyntheticRelation) {
  const auto train = synthetic_pipelines(60, 0, 1);
  const auto validation = synthetic_pipelines(10, 100, 2);
  const auto test = synthetic_pipelines(20, 200, 3);
  auto model = make_cost_model(GetParam());
  EXPECT_EQ(model->name(), GetParam());
  model->train(train, validation, quick_options());
  const Metrics m = evaluate_model(*model, test).metrics;
  EXPECT_GT(m.kendall_tau, 0.6);
  EXPECT_LT(m.top1_slowdown, 0.5);
  if (model->predicts_seconds()) {
    // Seconds come from two learned parts (throughput relative to the fastest, and the fastest
    // time): within a factor of two on average. (The times span a factor of ~100.)
    EXPECT_LT(m.rmse_log, std::log(2.0));
  } else {
    EXPECT_TRUE(std::isnan(m.mape));
  }
}

TEST_P(XgboostKinds, TrainingIsDeterministic) {
  const auto train = synthetic_pipelines(20, 0, 6);
  const auto validation = synthetic_pipelines(5, 100, 7);
  TrainOptions o = quick_options();
  o.epochs = 20;
  auto a = make_cost_model(GetParam());
  auto b = make_cost_model(GetParam());
  a->train(train, validation, o);
  b->train(train, validation, o);
  const auto queries = queries_of(validation);
  EXPECT_EQ(a->predict(queries), b->predict(queries));
}

INSTANTIATE_TEST_SUITE_P(Kinds, XgboostKinds, ::testing::Values("xgboost", "xgboost-rank"),
                         [](const auto& info) {
                           return info.param == "xgboost" ? std::string("PackSum")
                                                          : std::string("Rank");
                         });

TEST(Xgboost, UntrainedModelRefusesToPredict) {
  auto model = make_cost_model("xgboost");
  EXPECT_THROW(model->predict({}), Error);
}

}  // namespace
}  // namespace tensorplan::perf
