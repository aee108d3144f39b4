// The GCN cost model on a synthetic relation: stages form a chain, and a schedule's time is the
// sum over stages of a cost that grows with the stage's first schedule feature and its first
// pipeline feature, plus a share of its producer's cost (so the graph carries information).
// Three more features of each kind are noise; the rest are zero.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "support/synthetic_pipelines.h"
#include "support/temp_path.h"
#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/perf/halide/featurizer.h"
#include "tensorplan/perf/models/cost_model.h"
#include "tensorplan/perf/models/evaluate.h"
#include "tensorplan/perf/models/metrics.h"

namespace tensorplan::perf {
namespace {

std::vector<PipelineSamples> synthetic_pipelines(int count, int first_index, unsigned seed) {
  return tensorplan::testing::synthetic_pipelines({.chain = true,
                                                   .pipeline_scale = 10,
                                                   .schedule_scale = 100,
                                                   .work_gain = 1,
                                                   .speed_gain = 0.03,
                                                   .time_unit = 1e-4,
                                                   .producer_share = 0.5},
                                                  count, first_index, seed);
}
using tensorplan::testing::queries_of;

TrainOptions quick_options(int epochs) {
  TrainOptions o;
  o.epochs = epochs;
  o.quiet = true;
  o.seed = 7;
  o.threads = 1;
  return o;
}

using tensorplan::testing::temp_path;

TEST(Gcn, LearnsTheSyntheticRelation) {
  const auto train = synthetic_pipelines(80, 0, 1);
  const auto validation = synthetic_pipelines(10, 100, 2);
  const auto test = synthetic_pipelines(20, 200, 3);
  auto model = make_cost_model("gcn");
  EXPECT_EQ(model->name(), "gcn");
  EXPECT_TRUE(model->predicts_seconds());
  model->train(train, validation, quick_options(60));
  const Metrics m = evaluate_model(*model, test).metrics;
  // The times span a factor of ~100 within a pipeline and ~10 between pipelines.
  EXPECT_GT(m.kendall_tau, 0.8);
  EXPECT_LT(m.mape, 0.2);
  EXPECT_LT(m.rmse_log, 0.2);
  EXPECT_LT(m.top1_slowdown, 0.2);
}

// A gcn header that lost its log_unit is refused, naming the file (the damaged files every kind
// must refuse are in cost_model_test.cc, EveryModelKind).
TEST(Gcn, HeaderWithoutLogUnitIsRefused) {
  auto model = make_cost_model("gcn");
  model->train(synthetic_pipelines(6, 0, 4), synthetic_pipelines(2, 100, 5), quick_options(1));
  const std::string path = temp_path("model");
  model->save(path);
  std::string contents = read_file(path);
  contents.replace(contents.find("\"log_unit\""), 10, "\"log_unix\"");
  write_file_atomic(path, contents);
  try {
    load_cost_model(path);
    ADD_FAILURE() << "header without log_unit: loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

TEST(Gcn, TrainingIsDeterministic) {
  const auto train = synthetic_pipelines(20, 0, 6);
  const auto validation = synthetic_pipelines(5, 100, 7);
  auto a = make_cost_model("gcn");
  auto b = make_cost_model("gcn");
  a->train(train, validation, quick_options(3));
  b->train(train, validation, quick_options(3));
  const auto queries = queries_of(validation);
  EXPECT_EQ(a->predict(queries), b->predict(queries));
}

// The graph the convolutions run on is a setting (for the ablations): it changes what the model
// learns, is recorded in the model file, and an unknown value is refused.
TEST(Gcn, TheEdgesOptionChoosesTheGraphAndIsSaved) {
  const auto train = synthetic_pipelines(20, 0, 6);
  const auto validation = synthetic_pipelines(5, 100, 7);
  const auto queries = queries_of(validation);
  std::vector<std::vector<double>> predictions;
  for (const char* edges : {"recovered", "chain", "none"}) {
    TrainOptions o = quick_options(3);
    o.model_options = std::string("{\"edges\": \"") + edges + "\"}";
    auto model = make_cost_model("gcn");
    model->train(train, validation, o);
    predictions.push_back(model->predict(queries));
    const std::string path = temp_path("edges.tpmodel");
    model->save(path);
    EXPECT_NE(read_file(path).find(std::string("\"edges\":\"") + edges + "\""), std::string::npos)
        << edges;
    EXPECT_EQ(load_cost_model(path)->predict(queries), predictions.back()) << edges;
    std::filesystem::remove(path);
  }
  // The synthetic pipelines are chains, so "chain" may coincide with "recovered"; "none" differs.
  EXPECT_NE(predictions[0], predictions[2]);
  TrainOptions bad = quick_options(1);
  bad.model_options = R"({"edges": "all"})";
  EXPECT_THROW(make_cost_model("gcn")->train(train, validation, bad), Error);
}

// The "halide-terms" readout (Adams2019's cost terms weighted by the node states) saves the
// terms' scales with the model, predicts the same after loading, and refuses a file without them.
TEST(Gcn, TheHalideTermsReadoutSavesItsTermScales) {
  const auto train = synthetic_pipelines(20, 0, 6);
  const auto validation = synthetic_pipelines(5, 100, 7);
  const auto queries = queries_of(validation);
  TrainOptions o = quick_options(3);
  o.model_options = R"({"readout": "halide-terms"})";
  auto model = make_cost_model("gcn");
  model->train(train, validation, o);
  const std::vector<double> predicted = model->predict(queries);
  for (double seconds : predicted) EXPECT_TRUE(std::isfinite(seconds) && seconds > 0) << seconds;
  const std::string path = temp_path("terms.tpmodel");
  model->save(path);
  EXPECT_EQ(load_cost_model(path)->predict(queries), predicted);
  std::string contents = read_file(path);
  ASSERT_NE(contents.find("\"term_scale\""), std::string::npos);
  contents.replace(contents.find("\"term_scale\""), 12, "\"term_scalf\"");
  write_file_atomic(path, contents);
  EXPECT_THROW(load_cost_model(path), Error);
  std::filesystem::remove(path);
}

// The listwise term is a setting: it changes what is learned; a temperature that is not positive
// is refused.
TEST(Gcn, TheListwiseTermChangesTrainingAndChecksItsTemperature) {
  const auto train = synthetic_pipelines(20, 0, 6);
  const auto validation = synthetic_pipelines(5, 100, 7);
  const auto queries = queries_of(validation);
  TrainOptions plain = quick_options(3), listwise = quick_options(3);
  listwise.model_options = R"({"list_weight": 1, "list_temperature": 0.3})";
  auto a = make_cost_model("gcn");
  auto b = make_cost_model("gcn");
  a->train(train, validation, plain);
  b->train(train, validation, listwise);
  EXPECT_NE(a->predict(queries), b->predict(queries));
  TrainOptions bad = quick_options(1);
  bad.model_options = R"({"list_temperature": 0})";
  EXPECT_THROW(make_cost_model("gcn")->train(train, validation, bad), Error);
}

TEST(Gcn, BadQueriesAndUntrainedModelsAreErrors) {
  auto model = make_cost_model("gcn");
  EXPECT_THROW(model->predict({}), Error);
  const auto train = synthetic_pipelines(5, 0, 8);
  model->train(train, {}, quick_options(1));
  std::vector<float> wrong_size(3, 0.0f);
  EXPECT_THROW(model->predict({{&train[0], &wrong_size}}), Error);
}

}  // namespace
}  // namespace tensorplan::perf
