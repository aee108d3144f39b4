// A user's generator as a pipeline: loading the library that registers it, building its pipeline
// and sizing its arguments from its estimates, the errors a user can make, and one sample of it
// scheduled and timed in a child process. The generators are tests/generators/test_generators.cc.
#include "tensorplan/perf/halide/generator_pipeline.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/temp_path.h"
#include "tensorplan/common/error.h"
#include "tensorplan/perf/halide/sampler.h"
#include "tensorplan/perf/halide/stage_graph.h"
#include "tensorplan/perf/halide/target.h"

namespace tensorplan::perf {
namespace {

const std::string kLibrary = TENSORPLAN_TEST_GENERATORS;

GeneratorSpec spec(const std::string& name, std::map<std::string, std::string> params = {}) {
  return {kLibrary, name, std::move(params)};
}

// The Error's message, or "" if none was thrown.
std::string error_of(const GeneratorSpec& s) {
  try {
    build_generator_pipeline(s, host_target());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(GeneratorPipeline, LoadsTheLibraryAndListsItsGenerators) {
  const std::vector<std::string> expected = {"tiny_blur", "tiny_gradient", "tiny_misestimated",
                                             "tiny_row_sum", "tiny_too_big"};
  EXPECT_EQ(load_generator_library(kLibrary), expected);
  EXPECT_EQ(load_generator_library(kLibrary), expected);  // loaded once, remembered
}

TEST(GeneratorPipeline, BuildsThePipelineAndSizesItFromEstimates) {
  const GeneratorPipeline g =
      build_generator_pipeline(spec("tiny_blur", {{"size", "20"}}), host_target());
  ASSERT_EQ(g.inputs.size(), 2u);
  const PipelineArgument& input = g.inputs[0];  // buffers first
  EXPECT_EQ(input.name, "input");
  EXPECT_TRUE(input.is_buffer);
  EXPECT_EQ(input.type, Halide::Float(32));
  EXPECT_EQ(input.mins, (std::vector<int>{0, 0}));
  EXPECT_EQ(input.extents, (std::vector<int>{22, 22}));
  EXPECT_TRUE(input.parameter.defined());
  const PipelineArgument& gain = g.inputs[1];
  EXPECT_EQ(gain.name, "gain");
  EXPECT_FALSE(gain.is_buffer);
  EXPECT_EQ(gain.type, Halide::Float(32));
  EXPECT_DOUBLE_EQ(gain.scalar, 1.5);
  EXPECT_EQ(g.output_shape.type, Halide::Float(32));
  EXPECT_EQ(g.output_shape.mins, (std::vector<int>{1, 1}));
  EXPECT_EQ(g.output_shape.extents, (std::vector<int>{20, 20}));

  // Three stages, producers first, reading the input image through its wrapper.
  const StageGraph graph = build_stage_graph(g.output);
  ASSERT_EQ(graph.stages.size(), 3u);
  EXPECT_EQ(graph.stages[0].func, "across");
  EXPECT_EQ(graph.stages[0].inputs_read, (std::vector<std::string>{"input"}));
  EXPECT_EQ(graph.stages[1].func, "down");
  EXPECT_EQ(graph.stages[2].func, "output");
  EXPECT_EQ(graph.output_stage, 2);
  EXPECT_EQ(graph.edges.size(), 2u);
}

TEST(GeneratorPipeline, ReportsWhatIsWrong) {
  EXPECT_NE(error_of({"/nonexistent/libgen.so", "tiny_blur", {}}).find("/nonexistent/libgen.so"),
            std::string::npos);
  // A file that is not a shared library.
  EXPECT_NE(error_of({TENSORPLAN_SOURCE_DIR "/CMakeLists.txt", "x", {}})
                .find("cannot load generator library"),
            std::string::npos);
  const std::string unknown = error_of(spec("tiny_sharpen"));
  EXPECT_NE(unknown.find("no generator named 'tiny_sharpen'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("tiny_blur, tiny_gradient"), std::string::npos) << unknown;
  EXPECT_NE(error_of(spec("")).find("tiny_blur, tiny_gradient"), std::string::npos);

  const std::string bad_key = error_of(spec("tiny_blur", {{"radius", "2"}}));
  EXPECT_NE(bad_key.find("radius"), std::string::npos) << bad_key;
  EXPECT_NE(error_of(spec("tiny_blur", {{"size", "big"}})), "");
  EXPECT_NE(error_of(spec("tiny_blur", {{"target", "host"}})).find("set by tensorplan"),
            std::string::npos);

  const std::string input = error_of(spec("tiny_blur", {{"estimate_input", "false"}}));
  EXPECT_NE(input.find("input 'input' has no estimate for dimension 0"), std::string::npos)
      << input;
  const std::string gain = error_of(spec("tiny_blur", {{"estimate_gain", "false"}}));
  EXPECT_NE(gain.find("scalar input 'gain' has no estimate"), std::string::npos) << gain;
  const std::string output = error_of(spec("tiny_blur", {{"estimate_output", "false"}}));
  EXPECT_NE(output.find("output 'output' has no estimate for dimension 0"), std::string::npos)
      << output;
  for (const std::string& message : {unknown, bad_key, input, gain, output})
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

// The sampler's child schedules, featurizes and times a generator like a random pipeline: with
// its scalar input bound to the estimate and the output region starting at the estimated min.
TEST(GeneratorPipeline, SamplesAndTimesInAChild) {
  for (const std::string name : {"tiny_blur", "tiny_gradient"}) {
    SampleSpec s;
    s.generator = spec(name);
    s.beam_size = 1;
    s.random_dropout = 50;
    s.search_seed = 3;
    s.timing.budget_seconds = 0.02;
    const SampleResult r = run_sample(s, SampleLimits{});
    ASSERT_EQ(r.status, "ok") << name << ": " << r.detail;
    EXPECT_TRUE(r.has_timing);
    EXPECT_GT(r.timing.min_seconds, 0.0);
    EXPECT_FALSE(r.schedule_source.empty());
    EXPECT_TRUE(r.ops.empty());
    const std::size_t stages = name == "tiny_blur" ? 3 : 2;
    ASSERT_EQ(r.graph.stages.size(), stages);
    EXPECT_EQ(r.features.schedule.size(), stages * kScheduleFeatureCount);
    if (name == "tiny_gradient") {
      EXPECT_EQ(r.input_shapes, (std::vector<std::vector<int>>{{25, 16, 3}}));
      EXPECT_EQ(r.input_types, (std::vector<std::string>{"uint8"}));
      EXPECT_EQ(r.output_shape, (std::vector<int>{24, 16, 3}));
      EXPECT_EQ(r.timed_input_shapes, (std::vector<std::vector<int>>{{25, 16, 3}}));
      EXPECT_EQ(r.timed_output_shape, (std::vector<int>{24, 16, 3}));
    } else {
      EXPECT_EQ(r.input_shapes, (std::vector<std::vector<int>>{{34, 34}, {}}));
      EXPECT_EQ(r.output_shape, (std::vector<int>{32, 32}));
    }
  }
}

// A generator whose estimates do not size its buffers (the output's bounds are wider, the stencil
// reads outside the input's estimate) runs on buffers sized by a bounds query, as RunGen's.
TEST(GeneratorPipeline, SizesBuffersByABoundsQuery) {
  SampleSpec s;
  s.generator = spec("tiny_misestimated");
  s.timing.budget_seconds = 0.02;
  const SampleResult r = run_sample(s, SampleLimits{});
  ASSERT_EQ(r.status, "ok") << r.detail;
  EXPECT_GT(r.timing.min_seconds, 0.0);
  // What the schedule was made for: the estimates.
  EXPECT_EQ(r.input_shapes, (std::vector<std::vector<int>>{{20, 16}}));
  EXPECT_EQ(r.output_shape, (std::vector<int>{20, 20}));
  // What it ran on: the output at its bounds (24 x 16), the input over what that reads
  // (x - 1 .. x + 1 of 0..23, y .. y + 2 of 0..15).
  EXPECT_EQ(r.timed_input_shapes, (std::vector<std::vector<int>>{{26, 18}}));
  EXPECT_EQ(r.timed_output_shape, (std::vector<int>{24, 16}));

  // An algorithm that depends on its input's size runs on the estimated size.
  s.generator = spec("tiny_row_sum");
  const SampleResult sum = run_sample(s, SampleLimits{});
  ASSERT_EQ(sum.status, "ok") << sum.detail;
  EXPECT_EQ(sum.timed_input_shapes, (std::vector<std::vector<int>>{{40, 12}}));
  EXPECT_EQ(sum.timed_output_shape, (std::vector<int>{12}));
}

// With an object path, the timed schedule is also compiled ahead of time, and the arguments it
// ran on are described for another process (perf tune's head-to-head timing); an object that
// cannot be written leaves the timed sample standing, with the reason.
TEST(GeneratorPipeline, TimedThenCompiledAheadOfTimeWithWhatItRanOn) {
  testing::TestDir dir("aot-after-timing");
  SampleSpec s;
  s.generator = spec("tiny_misestimated");
  s.timing.budget_seconds = 0.02;
  s.function_name = "s0";
  s.object_path = dir.str() + "/s0.o";
  const SampleResult r = run_sample(s, SampleLimits{});
  ASSERT_EQ(r.status, "ok") << r.detail;
  EXPECT_TRUE(r.has_timing);
  ASSERT_TRUE(r.has_object) << r.object_error;
  EXPECT_TRUE(std::filesystem::exists(s.object_path));
  ASSERT_EQ(r.bound_arguments.size(), 2u);
  const Json& input = r.bound_arguments[0];
  EXPECT_EQ(input.at("kind"), "buffer");
  EXPECT_EQ(input.at("dims").at(0).at(1), 26);  // the extents the bounds query settled on
  EXPECT_EQ(input.at("dims").at(1).at(1), 18);
  EXPECT_EQ(input.at("dims").at(0).at(0), -1);  // x - 1 of 0..23
  const Json& output = r.bound_arguments[1];
  EXPECT_EQ(output.at("kind"), "output");
  EXPECT_EQ(output.at("dims").at(0).at(1), 24);
  EXPECT_EQ(output.at("dims").at(1).at(1), 16);
  EXPECT_EQ(r.argument_names, (std::vector<std::string>{input.at("name"), output.at("name")}));

  s.object_path = dir.str() + "/no-such-directory/s0.o";
  const SampleResult unwritable = run_sample(s, SampleLimits{});
  EXPECT_EQ(unwritable.status, "ok") << unwritable.detail;
  EXPECT_TRUE(unwritable.has_timing);
  EXPECT_FALSE(unwritable.has_object);
  EXPECT_NE(unwritable.object_error.find("compile"), std::string::npos) << unwritable.object_error;
}

}  // namespace
}  // namespace tensorplan::perf
