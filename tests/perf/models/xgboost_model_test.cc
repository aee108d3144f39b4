// The XGBoost baselines on a synthetic relation: a schedule's time is the sum over stages of a
// cost that grows with its first schedule feature and its stage's first pipeline feature. Three
// more features of each kind are noise; the rest are zero.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "support/synthetic_pipelines.h"
#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/perf/halide/featurizer.h"
#include "tensorplan/perf/models/cost_model.h"
#include "tensorplan/perf/models/evaluate.h"
#include "tensorplan/perf/models/metrics.h"

namespace tensorplan::perf {
namespace {

std::vector<PipelineSamples> synthetic_pipelines(int count, int first_index, unsigned seed) {
  return tensorplan::testing::synthetic_pipelines(
      {.work_gain = 4, .speed_gain = 3, .time_unit = 1e-3}, count, first_index, seed);
}
using tensorplan::testing::queries_of;

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
