// The Adams2019 reimplementation checked against the real thing: Debian's plugin exports the
// cost_model pipeline that Halide's autoscheduler runs (Halide's AOT calling convention, one
// halide_buffer_t per buffer argument); on measured pipelines of the dataset both must predict the
// same run times to 1e-4 relative, with the shipped weights and with perturbed ones.
#include <HalideRuntime.h>
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <random>

#include "support/temp_path.h"
#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/common/rng.h"
#include "tensorplan/perf/halide/featurizer.h"
#include "tensorplan/perf/halide/random_pipeline.h"
#include "tensorplan/perf/halide/sampler.h"
#include "tensorplan/perf/models/cost_model.h"
#include "tensorplan/perf/models/halide_weights.h"

namespace tensorplan::perf {

std::string adams2019_plugin_path();  // perf/halide/sampler.cc

namespace {

// A float buffer in Halide's layout: extents innermost first, dense.
class PluginBuffer {
 public:
  PluginBuffer(std::vector<float> values, const std::vector<int>& extents)
      : values_(std::move(values)) {
    int stride = 1;
    for (int e : extents) {
      dims_.push_back(halide_dimension_t(0, e, stride));
      stride *= e;
    }
    if (values_.size() != static_cast<std::size_t>(stride)) throw Error("buffer size mismatch");
    buffer_.host = reinterpret_cast<std::uint8_t*>(values_.data());
    buffer_.type = halide_type_t(halide_type_float, 32);
    buffer_.dimensions = static_cast<std::int32_t>(dims_.size());
    buffer_.dim = dims_.empty() ? nullptr : dims_.data();
  }
  PluginBuffer(const PluginBuffer&) = delete;
  PluginBuffer& operator=(const PluginBuffer&) = delete;
  halide_buffer_t* get() { return &buffer_; }
  const std::vector<float>& values() const { return values_; }

 private:
  std::vector<float> values_;
  std::vector<halide_dimension_t> dims_;
  halide_buffer_t buffer_{};
};

// The signature of Halide 14's cost_model generator (inference mode), argument for argument.
using CostModelFn = int (*)(int num_stages, int batch_size, int num_cores,
                            halide_buffer_t* pipeline_features, halide_buffer_t* schedule_features,
                            halide_buffer_t* head1_filter, halide_buffer_t* head1_bias,
                            halide_buffer_t* head2_filter, halide_buffer_t* head2_bias,
                            halide_buffer_t* filter1, halide_buffer_t* bias1, float learning_rate,
                            int timestep, int reference, halide_buffer_t* true_runtime,
                            halide_buffer_t* prediction_output, halide_buffer_t* loss_output);

CostModelFn plugin_cost_model() {
  const std::string path = adams2019_plugin_path();
  if (!std::filesystem::exists(path)) return nullptr;
  void* handle = dlopen(path.c_str(), RTLD_LAZY | RTLD_LOCAL);  // kept open for the process
  if (!handle) return nullptr;
  return reinterpret_cast<CostModelFn>(dlsym(handle, "cost_model"));
}

int round_up(int x, int multiple) { return (x + multiple - 1) / multiple * multiple; }

// The plugin's predictions for every schedule of `p`. Halide numbers stages from the output back,
// the reverse of our rows. The stage and batch dimensions are zero-padded to the multiples that
// the generated schedule's tiles round up to; only the first num_stages stages are summed.
std::vector<float> plugin_predictions(CostModelFn cost_model, const PipelineSamples& p,
                                      const HalideWeights& w, int num_cores) {
  const int stages = p.stages();
  const int batch = static_cast<int>(p.schedules.size());
  const int padded_stages = round_up(stages, 4);
  const int padded_batch = round_up(batch, 8);
  // pipeline_features(x, y, stage) with x in [0, 40), y in [0, 7): feature 7 + x * 7 + y.
  std::vector<float> algorithm(static_cast<std::size_t>(kHead1Width * kHead1Height) *
                               padded_stages);
  // schedule_features(n, feature, stage).
  std::vector<float> schedule(static_cast<std::size_t>(padded_batch) * kHead2Width * padded_stages);
  for (int s = 0; s < stages; ++s) {
    const int row = stages - 1 - s;
    for (int x = 0; x < kHead1Width; ++x)
      for (int y = 0; y < kHead1Height; ++y)
        algorithm[static_cast<std::size_t>((s * kHead1Height + y) * kHead1Width + x)] =
            p.pipeline_features[static_cast<std::size_t>(row * kPipelineFeatureCount +
                                                         kScalarTypeCount + x * 7 + y)];
    for (int n = 0; n < batch; ++n)
      for (int f = 0; f < kHead2Width; ++f)
        schedule[static_cast<std::size_t>((s * kHead2Width + f) * padded_batch + n)] =
            p.schedules[static_cast<std::size_t>(n)]
                .schedule_features[static_cast<std::size_t>(row * kScheduleFeatureCount + f)];
  }
  PluginBuffer pipeline_features(algorithm, {kHead1Width, kHead1Height, padded_stages});
  PluginBuffer schedule_features(schedule, {padded_batch, kHead2Width, padded_stages});
  PluginBuffer head1_filter(w.head1_filter, {kHead1Channels, kHead1Width, kHead1Height});
  PluginBuffer head1_bias(w.head1_bias, {kHead1Channels});
  PluginBuffer head2_filter(w.head2_filter, {kHead2Channels, kHead2Width});
  PluginBuffer head2_bias(w.head2_bias, {kHead2Channels});
  PluginBuffer filter1(w.conv1_filter, {kConv1Channels, kHead1Channels + kHead2Channels});
  PluginBuffer bias1(w.conv1_bias, {kConv1Channels});
  PluginBuffer prediction(std::vector<float>(static_cast<std::size_t>(batch)), {batch});
  PluginBuffer loss(std::vector<float>(1), {});
  const int status =
      cost_model(stages, batch, num_cores, pipeline_features.get(), schedule_features.get(),
                 head1_filter.get(), head1_bias.get(), head2_filter.get(), head2_bias.get(),
                 filter1.get(), bias1.get(), 0.0f, 0, 0, nullptr, prediction.get(), loss.get());
  if (status != 0) throw Error("the plugin's cost_model returned " + std::to_string(status));
  return prediction.values();
}

const std::vector<PipelineSamples>& dataset_pipelines() {
  static const std::vector<PipelineSamples> pipelines = [] {
    auto all = load_samples(std::string(TENSORPLAN_SOURCE_DIR) +
                            "/data/perf/shard-00000-of-00016.tpshard");
    if (all.size() > 8) all.resize(8);
    return all;
  }();
  return pipelines;
}

using tensorplan::testing::temp_path;

// Checks `model` against the plugin running `weights` on every schedule of the test pipelines.
void expect_same_as_plugin(CostModel& model, const HalideWeights& weights) {
  CostModelFn cost_model = plugin_cost_model();
  ASSERT_NE(cost_model, nullptr);
  ASSERT_FALSE(dataset_pipelines().empty());
  int compared = 0;
  double worst = 0;
  for (const PipelineSamples& p : dataset_pipelines()) {
    const std::vector<float> expected = plugin_predictions(cost_model, p, weights, 1);
    std::vector<double> got = model.predict(schedule_queries(p));
    for (double& seconds : got) seconds *= 1e3;  // the network's unit is Halide's milliseconds
    ASSERT_EQ(got.size(), expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_TRUE(std::isfinite(expected[i]) && expected[i] > 0) << expected[i];
      const double relative = std::abs(got[i] - expected[i]) / std::abs(expected[i]);
      worst = std::max(worst, relative);
      EXPECT_LT(relative, 1e-4) << "pipeline " << p.pipeline << " schedule " << i << ": " << got[i]
                                << " vs the plugin's " << expected[i];
      ++compared;
    }
  }
  std::cout << "compared " << compared << " predictions with the plugin's; worst relative "
            << "difference " << worst << "\n";
}

class HalidePlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(adams2019_plugin_path()))
      GTEST_SKIP() << "no Adams2019 plugin at " << adams2019_plugin_path();
  }
};

TEST_F(HalidePlugin, BuiltInWeightsAreReadOutOfThePlugin) {
  const HalideWeights w = baseline_halide_weights();
  EXPECT_EQ(w.pipeline_features_version, 3u);
  EXPECT_EQ(w.schedule_features_version, 3u);
  EXPECT_EQ(w.head1_filter.size(), 8u * 40 * 7);
  EXPECT_EQ(w.conv1_filter.size(), 32u * 32);
  // The .weights bytes round-trip exactly.
  const std::string bytes = serialize_halide_weights(w);
  EXPECT_EQ(serialize_halide_weights(parse_halide_weights(bytes, "x")), bytes);
  EXPECT_THROW(parse_halide_weights(bytes.substr(0, bytes.size() - 4), "x"), Error);
}

TEST_F(HalidePlugin, ShippedWeightsPredictWhatThePluginPredicts) {
  auto model = make_cost_model("halide");
  expect_same_as_plugin(*model, baseline_halide_weights());
}

TEST_F(HalidePlugin, PerturbedWeightsPredictWhatThePluginPredicts) {
  // Other weights wake other coefficients (the shipped ones leave some ReLUs dead) and go through
  // the model file: a .tpmodel whose body is the perturbed .weights.
  HalideWeights w = baseline_halide_weights();
  std::mt19937 rng(5);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  for (auto* buffer : {&w.head1_filter, &w.head1_bias, &w.head2_filter, &w.head2_bias,
                       &w.conv1_filter, &w.conv1_bias})
    for (float& x : *buffer) x += noise(rng);
  for (float& x : w.conv1_bias) x = std::abs(x) + 0.5f;  // every coefficient alive
  const std::string path = temp_path("perturbed");
  write_model_file(path, "halide-retrained", serialize_halide_weights(w), Json{{"num_cores", 1}});
  auto model = load_cost_model(path);
  EXPECT_EQ(model->name(), "halide-retrained");
  expect_same_as_plugin(*model, w);
  std::filesystem::remove(path);
}

// `perf weights` hands a model back to Halide: the .weights file it writes is the network the
// model predicts with (PerturbedWeightsPredictWhatThePluginPredicts checks the predictions), and
// Adams2019 itself loads it through HL_WEIGHTS_DIR and searches with it.
TEST_F(HalidePlugin, ExportedWeightsAreLoadedByAdams2019) {
  const auto greedy_schedule = [](const std::string& weights_file) {
    SampleSpec spec;
    spec.pipeline_seed = derive_seed(11, 2);
    spec.pipeline = tiny_pipeline_options();
    spec.pipeline.max_stages = 8;
    spec.beam_size = 1;
    spec.time_it = false;
    spec.weights_file = weights_file;
    const SampleResult r = run_sample(spec, SampleLimits{});
    EXPECT_EQ(r.status, "ok") << r.detail;
    return r.schedule_source;
  };
  const std::string built_in = greedy_schedule("");
  ASSERT_FALSE(built_in.empty());

  // The shipped network, exported from a model file: the search is the built-in one.
  const std::string model_path = temp_path("export.tpmodel");
  const std::string weights_path = temp_path("export.weights");
  write_model_file(model_path, "halide", serialize_halide_weights(baseline_halide_weights()),
                   Json{{"num_cores", 1}});
  const std::string bytes = halide_weights_of_model_file(model_path);
  EXPECT_EQ(bytes, serialize_halide_weights(baseline_halide_weights()));
  write_file_atomic(weights_path, bytes);
  EXPECT_EQ(greedy_schedule(weights_path), built_in);

  // Other weights steer the search elsewhere, the same way each time (a file Adams2019 could not
  // read would make it fall back to weights seeded by the clock).
  HalideWeights w = baseline_halide_weights();
  for (float& x : w.conv1_filter) x = -x;
  write_model_file(model_path, "halide-retrained", serialize_halide_weights(w),
                   Json{{"num_cores", 1}});
  write_file_atomic(weights_path, halide_weights_of_model_file(model_path));
  const std::string steered = greedy_schedule(weights_path);
  EXPECT_NE(steered, built_in);
  EXPECT_EQ(greedy_schedule(weights_path), steered);

  // Only the Adams2019 kinds have such weights.
  write_model_file(model_path, "xgboost", "{}");
  try {
    halide_weights_of_model_file(model_path);
    ADD_FAILURE() << "an xgboost model exported as weights";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("a xgboost model has no Adams2019 weights"),
              std::string::npos)
        << e.what();
  }
  std::filesystem::remove(model_path);
  std::filesystem::remove(weights_path);
}

TEST_F(HalidePlugin, RetrainingMovesTheWeightsDeterministically) {
  const auto& pipelines = dataset_pipelines();
  std::vector<PipelineSamples> train(pipelines.begin(), pipelines.begin() + 6);
  std::vector<PipelineSamples> validation(pipelines.begin() + 6, pipelines.end());
  TrainOptions options;
  options.epochs = 5;
  options.quiet = true;
  auto a = make_cost_model("halide-retrained");
  auto b = make_cost_model("halide-retrained");
  const auto before = a->predict(schedule_queries(train[0]));
  a->train(train, validation, options);
  b->train(train, validation, options);
  const auto queries = schedule_queries(train[0]);
  EXPECT_EQ(a->predict(queries), b->predict(queries));  // deterministic
  EXPECT_NE(a->predict(queries), before);
}

TEST_F(HalidePlugin, ShippedModelFileHoldsTheBuiltInWeights) {
  auto shipped = load_cost_model(std::string(TENSORPLAN_SOURCE_DIR) + "/data/perf/halide.tpmodel");
  EXPECT_EQ(shipped->name(), "halide");
  auto fresh = make_cost_model("halide");
  const auto queries = schedule_queries(dataset_pipelines().front());
  EXPECT_EQ(shipped->predict(queries), fresh->predict(queries));
}

TEST_F(HalidePlugin, ShippedKindIgnoresTraining) {
  auto model = make_cost_model("halide");
  const auto& p = dataset_pipelines().front();
  const auto before = model->predict(schedule_queries(p));
  TrainOptions options;
  options.quiet = true;
  model->train(dataset_pipelines(), {}, options);
  EXPECT_EQ(model->predict(schedule_queries(p)), before);
}

}  // namespace
}  // namespace tensorplan::perf
