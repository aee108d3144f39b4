#include "tensorplan/perf/models/cost_model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "tensorplan/common/error.h"
#include "tensorplan/common/file_io.h"

namespace tensorplan::perf {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("tp-cost-model-" + std::to_string(getpid()) + "-" + name))
      .string();
}

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
  EXPECT_NE(load_error(unknown).find("unknown model kind 'no-such-kind'"), std::string::npos);
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

}  // namespace
}  // namespace tensorplan::perf
