#include "tensorplan/perf/models/cost_model.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "support/temp_path.h"
#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"
#include "tensorplan/perf/halide/featurizer.h"

namespace tensorplan::perf {
namespace {

using tensorplan::testing::temp_path;

std::string load_error(const std::string& path) {
  try {
    load_cost_model(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ModelFile, HeaderLineCarriesFormatVersionKindAndExtraFieldsThenTheBody) {
  const std::string path = temp_path("header");
  write_model_file(path, "xgboost", std::string("body\n\0bytes", 11), Json{{"scale", 2.5}});
  const std::string contents = read_file(path);
  const size_t newline = contents.find('\n');
  ASSERT_NE(newline, std::string::npos);
  const Json header = Json::parse(contents.substr(0, newline));
  EXPECT_EQ(header["format"], kModelFormat);
  EXPECT_EQ(header["version"], kModelVersion);
  EXPECT_EQ(header["kind"], "xgboost");
  EXPECT_EQ(header["scale"], 2.5);
  EXPECT_EQ(contents.substr(newline + 1), std::string("body\n\0bytes", 11));
  std::filesystem::remove(path);
}

TEST(ModelFile, LoadNamesTheFileAndTheProblem) {
  const std::string unknown = temp_path("unknown-kind");
  write_model_file(unknown, "no-such-kind", "");
  EXPECT_NE(load_error(unknown).find("unknown model kind \"no-such-kind\""), std::string::npos);
  EXPECT_NE(load_error(unknown).find(unknown), std::string::npos);

  const std::string version = temp_path("version");
  write_file_atomic(version, R"({"format": "tensorplan.perf-model", "version": 99, "kind": "x"})"
                             "\n");
  EXPECT_NE(load_error(version).find("version 99"), std::string::npos);

  const std::string garbage = temp_path("garbage");
  write_file_atomic(garbage, "not json\nmore");
  EXPECT_NE(load_error(garbage).find("not a tensorplan model file"), std::string::npos);
  for (const auto& p : {unknown, version, garbage}) std::filesystem::remove(p);
}

TEST(ModelKinds, EveryKnownKindMakesAModelOfThatName) {
  for (const std::string& kind : known_model_kinds())
    EXPECT_EQ(make_cost_model(kind)->name(), kind);
}

// Every kind saves and loads: the loaded model predicts exactly what the trained one did, and a
// truncated file, or one with bytes after its body, is an error naming the file (not a crash).
class EveryModelKind : public ::testing::TestWithParam<std::string> {};

// Small pipelines of 2-4 chained stages whose times grow with the first schedule feature.
std::vector<PipelineSamples> tiny_pipelines(int count, int first_index, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  std::vector<PipelineSamples> out;
  for (int i = 0; i < count; ++i) {
    PipelineSamples p;
    p.pipeline = first_index + i;
    const int stages = 2 + i % 3;
    p.graph.stages.resize(static_cast<std::size_t>(stages));
    for (int st = 1; st < stages; ++st) p.graph.edges.push_back({st - 1, st, false, 1});
    p.pipeline_features.assign(static_cast<std::size_t>(stages * kPipelineFeatureCount), 0.0f);
    for (float& f : p.pipeline_features) f = unit(rng);
    for (int k = 0; k < 6; ++k) {
      ScheduleSample s;
      s.sample = k;
      s.schedule_features.assign(static_cast<std::size_t>(stages * kScheduleFeatureCount), 0.0f);
      for (float& f : s.schedule_features) f = unit(rng);
      for (int st = 0; st < stages; ++st)
        s.seconds +=
            1e-3 *
            std::exp(2 * s.schedule_features[static_cast<std::size_t>(st * kScheduleFeatureCount)]);
      p.schedules.push_back(std::move(s));
    }
    out.push_back(std::move(p));
  }
  return out;
}

TEST_P(EveryModelKind, SaveLoadAndDamagedFiles) {
  const auto train = tiny_pipelines(8, 0, 3);
  const auto validation = tiny_pipelines(3, 100, 4);
  auto model = make_cost_model(GetParam());
  TrainOptions options;
  options.epochs = 3;
  options.quiet = true;
  model->train(train, validation, options);
  const std::string path = temp_path("every-kind-" + GetParam());
  model->save(path);
  auto loaded = load_cost_model(path);
  EXPECT_EQ(loaded->name(), GetParam());
  EXPECT_EQ(loaded->predicts_seconds(), model->predicts_seconds());
  std::vector<CostQuery> queries;
  for (const auto& p : validation)
    for (const auto& s : p.schedules) queries.push_back({&p, &s.schedule_features});
  EXPECT_EQ(loaded->predict(queries), model->predict(queries));

  const std::string contents = read_file(path);
  write_file_atomic(path, contents.substr(0, contents.size() - 10));
  EXPECT_NE(load_error(path).find(path), std::string::npos) << "truncated file loaded";
  write_file_atomic(path, contents + "extra");
  EXPECT_NE(load_error(path).find(path), std::string::npos) << "trailing bytes loaded";
  std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(Kinds, EveryModelKind, ::testing::ValuesIn(known_model_kinds()),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

}  // namespace
}  // namespace tensorplan::perf
