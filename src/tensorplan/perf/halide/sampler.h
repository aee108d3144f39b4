// One sample of the dataset: a generated pipeline (or a user's generator) scheduled by Adams2019
// (with its beam search, or randomised), featurized, compiled and timed. `run_sample` runs it in a
// child process with per-phase time limits; `run_sample_in_this_process` is the child's body (it
// sets HL_* variables and loads the autoscheduler plugin, so each process can run it only once).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tensorplan/common/json.h"
#include "tensorplan/perf/halide/benchmark.h"
#include "tensorplan/perf/halide/featurizer.h"
#include "tensorplan/perf/halide/generator_pipeline.h"
#include "tensorplan/perf/halide/random_pipeline.h"
#include "tensorplan/perf/halide/stage_graph.h"
#include "tensorplan/perf/subprocess.h"

namespace tensorplan::perf {

struct SampleSpec {
  // Which pipeline: the random pipeline of (pipeline_seed, pipeline), or, when `generator` is set,
  // that generator's (pipeline_seed then only seeds the input data).
  std::uint64_t pipeline_seed = 0;
  PipelineOptions pipeline;
  std::optional<GeneratorSpec> generator;
  int beam_size = 32;        // HL_BEAM_SIZE: 32 is Adams2019's default search
  int random_dropout = 100;  // HL_RANDOM_DROPOUT, percent of candidates kept; 100 = none dropped
  std::uint64_t search_seed = 0;  // HL_SEED
  int threads = 1;                // HL_NUM_THREADS for timing = MachineParams parallelism
  std::string target;             // Halide target string; "" = host_target()
  // Adams2019's MachineParams. 0 parallelism = `threads`; the defaults are MachineParams::generic's
  // cache and balance, which v1 used for every sample. Varying them spreads the schedules out.
  int machine_parallelism = 0;
  std::int64_t machine_cache_bytes = 16 * 1024 * 1024;  // last-level cache size
  double machine_balance = 40;  // cost of a cache miss relative to an arithmetic op
  // Nonzero: Adams2019 searches with a cost model of random weights drawn from this seed instead
  // of its built-in ones (as Adams et al. bootstrapped their dataset): the search then explores
  // schedules its trained model would never pick. The weights are written to random_weights_dir,
  // or, if that is empty, next to the object (object_path + ".weights"): one of them must be set.
  std::uint64_t random_weights_seed = 0;
  std::string random_weights_dir;
  // A Halide `.weights` file for the cost model (HL_WEIGHTS_DIR), e.g. from `perf weights`;
  // "" = the plugin's built-in weights. Ignored when random_weights_seed is set.
  std::string weights_file;
  TimingOptions timing;
  bool time_it = true;  // false: schedule and featurize only
  // Ahead-of-time output: when set, the scheduled pipeline is compiled to this object file as the
  // C function `function_name` (without the Halide runtime): instead of being timed (dataset v2,
  // time_it false), or after it was timed, with the arguments it was timed on described
  // (SampleResult::bound_arguments; perf tune's head-to-head timing).
  std::string object_path;
  std::string function_name;
};

struct SampleLimits {
  double generate_seconds = 60;
  double autoschedule_seconds = 600;
  double compile_seconds = 300;
  double run_seconds = 120;
  unsigned long long memory_cap_bytes = kChildMemoryCapBytes;  // the sample's address space
};

// What a sample produced. Fields are filled as far as the sample got.
struct SampleResult {
  std::string status;  // "ok", or "<error|crashed|timeout>:<phase>"
  std::string detail;  // the error message, signal or limit; stderr tail for crashes
  bool has_graph = false;
  StageGraph graph;
  std::vector<std::string> ops;  // the random pipeline's op kinds; empty for generators
  std::vector<std::vector<int>> input_shapes;  // per input, its extents (x first); [] for scalars
  std::vector<std::string> input_types;
  std::vector<int> output_shape;  // the output's extents (x first)
  std::string output_type;
  bool has_schedule = false;
  std::string schedule_source;
  Featurization features;
  double autoschedule_seconds = 0;
  double compile_seconds = 0;
  bool has_object = false;                  // object_path was written
  std::vector<std::string> argument_names;  // the object's function arguments, output last
  // With time_it and object_path: the arguments the schedule was timed on, for BoundArguments
  // (aot.h) to rebuild in another process; or, where the object could not be compiled after the
  // timing (the sample is still "ok"), why.
  Json bound_arguments;
  std::string object_error;
  bool has_timing = false;
  Timing timing;
  // The extents of the buffers it was timed on (buffer inputs, then the output): the estimates
  // for a random pipeline, what the bounds query settled on for a generator.
  std::vector<std::vector<int>> timed_input_shapes;
  std::vector<int> timed_output_shape;
  double wall_seconds = 0;
};

std::string adams2019_plugin_path();

// The child's body: emits messages "graph", "schedule", "compiled", "timing".
void run_sample_in_this_process(const SampleSpec& spec, const MessageSink& send);

// Runs the sample in a child process and collects what it reported.
SampleResult run_sample(const SampleSpec& spec, const SampleLimits& limits);

// Fills a pipeline input with the deterministic data every timing of the dataset uses.
void fill_input_buffer(Halide::Buffer<>& buffer, std::uint64_t seed);

// A scalar argument's value of type `t` (v converted as static_cast would).
halide_scalar_value_t scalar_value(const Halide::Type& t, double v);

// Conversions used by the child protocol (and the dataset writer).
Json stage_graph_to_json(const StageGraph& graph);
StageGraph stage_graph_from_json(const Json& j);
Json float_blob(const std::vector<float>& values);
std::vector<float> floats_from_blob(const Json& blob);

}  // namespace tensorplan::perf
