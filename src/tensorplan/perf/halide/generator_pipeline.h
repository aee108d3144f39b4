// A user's Halide generator as a pipeline to schedule and time: load the shared library that
// registers it (HALIDE_REGISTER_GENERATOR runs when the library is loaded), create it by name for a
// target, set its generator params, build its Pipeline, and size its inputs and output from the
// estimates the generator declares (the same estimates Adams2019 schedules for).
#pragma once

#include <Halide.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tensorplan::perf {

// Which generator: as `perf tune --generator-library PATH --generator NAME -p key=value` names it.
struct GeneratorSpec {
  std::string library;                        // path of the shared library (dlopen'ed)
  std::string name;                           // the name it was registered under
  std::map<std::string, std::string> params;  // generator params, as strings (GeneratorParam)
};

// One input or the output of a pipeline, sized by its estimates.
struct PipelineArgument {
  std::string name;
  Halide::Type type;
  bool is_buffer = true;
  std::vector<int> mins;     // buffer: the estimated min of each dimension
  std::vector<int> extents;  // buffer: the estimated extent of each dimension
  double scalar = 0;         // scalar: the estimated value
  // The pipeline's parameter that takes this argument's value when the pipeline runs
  // (undefined for the output).
  Halide::Internal::Parameter parameter;
};

struct GeneratorPipeline {
  Halide::Pipeline pipeline;
  Halide::Func output;                   // the generator's only output
  std::vector<PipelineArgument> inputs;  // in the pipeline's argument order (buffers first)
  PipelineArgument output_shape;         // type and estimated region of the output
  // Owns the generator's Inputs and Outputs; the library it came from stays loaded.
  std::shared_ptr<Halide::Internal::GeneratorBase> generator;
};

// The generator params of `-p key=value` arguments (split at the first '='; the value may be
// empty or hold more '='). Throws Error for an argument without a key or '=' and for a key given
// twice (a later value would silently win).
std::map<std::string, std::string> parse_generator_params(const std::vector<std::string>& args);

// dlopens the library (once per path and process) and returns the generator names it registered,
// sorted. Throws Error if it cannot be loaded or registers no generator.
std::vector<std::string> load_generator_library(const std::string& path);

// Loads the library, creates the generator for `target` (with auto_schedule on, so a generator
// that schedules itself only when not autoscheduled leaves the schedule to Adams2019), sets the
// params and builds the pipeline. Throws Error, naming what is wrong, for an unknown name (listing
// the library's names), a bad param, a generator Halide rejects, more than one output or a
// Tuple-valued one, and any input or output dimension (or scalar input) without an estimate.
GeneratorPipeline build_generator_pipeline(const GeneratorSpec& spec, const Halide::Target& target);

// "name" or "name -p k=v -p k2=v2": how messages and reports name the generator.
std::string generator_label(const GeneratorSpec& spec);

}  // namespace tensorplan::perf
