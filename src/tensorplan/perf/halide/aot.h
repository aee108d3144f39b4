// Ahead-of-time compiled schedules (dataset v2): compiling is kept apart from timing. Each sampled
// schedule of a pipeline is compiled (in its own process, see SampleSpec::object_path) to an
// object file holding one C function, `s<k>`, without the Halide runtime; the objects of one
// pipeline and one standalone runtime are linked into one shared object; the timing process loads
// it and calls every schedule through Halide's `<name>_argv` entry point.
#pragma once

#include <Halide.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tensorplan/common/json.h"

namespace tensorplan::perf {

// Compiles the standalone Halide runtime for `target` into an object file (in a child process:
// LLVM never runs in the generator's own process).
void compile_runtime_object(const std::string& target, const std::string& path);

// Links objects into a position-independent shared object with `c++ -shared` (-Bsymbolic, so
// each library calls its own runtime). Throws Error with the linker's output on failure.
void link_shared_object(const std::vector<std::string>& objects, const std::string& output);

// A loaded shared object of schedules.
class ScheduleLibrary {
 public:
  explicit ScheduleLibrary(const std::string& path);
  ~ScheduleLibrary();
  ScheduleLibrary(const ScheduleLibrary&) = delete;
  ScheduleLibrary& operator=(const ScheduleLibrary&) = delete;

  using ArgvFunction = int (*)(void**);
  ArgvFunction function(const std::string& name) const;  // `name`_argv; throws if missing

 private:
  std::string path_;
  void* handle_ = nullptr;
};

// The buffers one pipeline runs on (shared by all its schedules): inputs filled with the same
// deterministic data as the JIT timing, and the output.
class PipelineBuffers {
 public:
  // `inputs`: [{"name", "type", "shape": [w, h, c]}] and `output`: {"type", "shape"}, as in the
  // dataset's pipeline record.
  PipelineBuffers(const Json& inputs, const Json& output, std::uint64_t pipeline_seed);
  // The argv of a compiled function whose arguments are `argument_names`, output last.
  std::vector<void*> argv(const std::vector<std::string>& argument_names);

 private:
  std::vector<std::string> names_;
  std::vector<Halide::Buffer<>> inputs_;
  Halide::Buffer<> output_;
};

// The arguments one compiled schedule was timed on (SampleResult::bound_arguments), built again in
// another process: each buffer with the region and strides it had, an input filled from the
// seed its data was drawn from, each scalar with its value. For schedules whose buffers differ
// (perf tune's: a generator's are sized by each schedule's own bounds query).
class BoundArguments {
 public:
  // `description`: [{"name", "kind": "buffer" | "scalar" | "output", "type", "dims": [[min,
  // extent, stride], ...], "seed" (inputs), "value" (scalars)}], in argument order, output last.
  explicit BoundArguments(const Json& description);
  BoundArguments(const BoundArguments&) = delete;
  BoundArguments& operator=(const BoundArguments&) = delete;
  void** argv() { return argv_.data(); }

 private:
  std::vector<Halide::Buffer<>> buffers_;
  std::vector<halide_scalar_value_t> scalars_;  // sized once: argv_ points into it
  std::vector<void*> argv_;
};

// "float32" -> Float(32): the inverse of type_name.
Halide::Type parse_type_name(const std::string& name);

}  // namespace tensorplan::perf
