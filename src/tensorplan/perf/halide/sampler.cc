#include "tensorplan/perf/halide/sampler.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>

#include "tensorplan/common/error.h"
#include "tensorplan/common/rng.h"
#include "tensorplan/common/timer.h"
#include "tensorplan/perf/halide/target.h"

namespace tensorplan::perf {

std::string adams2019_plugin_path() {
  if (const char* path = std::getenv("TENSORPLAN_ADAMS2019_PLUGIN")) return path;
  return TENSORPLAN_ADAMS2019_PLUGIN;
}

Json float_blob(const std::vector<float>& values) {
  std::vector<std::uint8_t> bytes(values.size() * sizeof(float));
  if (!values.empty())
    std::memcpy(bytes.data(), values.data(), bytes.size());  // little-endian host
  return Json::binary(std::move(bytes));
}

std::vector<float> floats_from_blob(const Json& blob) {
  if (!blob.is_binary()) fail("expected a binary float array");
  const auto& bytes = blob.get_binary();
  if (bytes.size() % sizeof(float) != 0) fail("float array of {} bytes", bytes.size());
  std::vector<float> values(bytes.size() / sizeof(float));
  if (!values.empty()) std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

Json stage_graph_to_json(const StageGraph& graph) {
  Json stages = Json::array();
  for (const StageInfo& s : graph.stages) {
    stages.push_back({{"name", s.name},
                      {"func", s.func},
                      {"definition", s.definition},
                      {"op", s.op},
                      {"type", s.type},
                      {"dimensions", s.dimensions},
                      {"func_calls", s.func_calls},
                      {"self_calls", s.self_calls},
                      {"image_calls", s.image_calls},
                      {"inputs_read", s.inputs_read}});
  }
  Json edges = Json::array();
  for (const StageEdge& e : graph.edges) {
    edges.push_back({e.producer, e.consumer, e.update_chain ? 1 : 0, e.calls});
  }
  return {{"stages", stages}, {"edges", edges}, {"output_stage", graph.output_stage}};
}

StageGraph stage_graph_from_json(const Json& j) {
  StageGraph graph;
  for (const Json& s : j.at("stages")) {
    StageInfo stage;
    stage.name = s.at("name").get<std::string>();
    stage.func = s.at("func").get<std::string>();
    stage.definition = s.at("definition").get<int>();
    stage.op = s.at("op").get<std::string>();
    stage.type = s.at("type").get<std::string>();
    stage.dimensions = s.at("dimensions").get<int>();
    stage.func_calls = s.at("func_calls").get<int>();
    stage.self_calls = s.at("self_calls").get<int>();
    stage.image_calls = s.at("image_calls").get<int>();
    stage.inputs_read = s.at("inputs_read").get<std::vector<std::string>>();
    graph.stages.push_back(std::move(stage));
  }
  const int n = static_cast<int>(graph.stages.size());
  for (const Json& e : j.at("edges")) {
    StageEdge edge{e.at(0).get<int>(), e.at(1).get<int>(), e.at(2).get<int>() != 0,
                   e.at(3).get<int>()};
    if (edge.producer < 0 || edge.producer >= n || edge.consumer < 0 || edge.consumer >= n) {
      fail("edge {} -> {} names a stage outside 0..{}", edge.producer, edge.consumer, n - 1);
    }
    graph.edges.push_back(edge);
  }
  graph.output_stage = j.at("output_stage").get<int>();
  return graph;
}

namespace {

// Calls f(T{}) for the C++ type T of a Halide scalar type; fails for a type with none.
template <typename F>
void with_cpp_type(const Halide::Type& t, const char* what, F&& f) {
  if (t == Halide::Float(32)) return f(float{});
  if (t == Halide::Float(64)) return f(double{});
  if (t == Halide::Bool()) return f(bool{});
  if (t == Halide::UInt(8)) return f(std::uint8_t{});
  if (t == Halide::UInt(16)) return f(std::uint16_t{});
  if (t == Halide::UInt(32)) return f(std::uint32_t{});
  if (t == Halide::UInt(64)) return f(std::uint64_t{});
  if (t == Halide::Int(8)) return f(std::int8_t{});
  if (t == Halide::Int(16)) return f(std::int16_t{});
  if (t == Halide::Int(32)) return f(std::int32_t{});
  if (t == Halide::Int(64)) return f(std::int64_t{});
  fail("unsupported {} type {}", what, type_name(t));
}

// Deterministic input data: image-like values in [0, 1) for floats, [0, 255] for integers
// ([0, 127] for int8; 0 or 1 for bool).
void fill_input(Halide::Buffer<>& buffer, std::uint64_t seed) {
  Rng rng(seed);
  const std::size_t n = buffer.number_of_elements();
  with_cpp_type(buffer.type(), "input", [&](auto zero) {
    using T = decltype(zero);
    const double scale = std::is_floating_point_v<T>      ? 1
                         : std::is_same_v<T, bool>        ? 2
                         : std::is_same_v<T, std::int8_t> ? 128
                                                          : 256;
    T* data = static_cast<T*>(buffer.data());
    for (std::size_t i = 0; i < n; ++i) {
      const double x = rng.unit() * scale;  // integers (and bool) truncate it
      data[i] = std::is_floating_point_v<T> ? static_cast<T>(x)
                                            : static_cast<T>(static_cast<std::int64_t>(x));
    }
  });
}

// Halide's buffers use malloc and do not check it: a buffer bigger than the child's memory cap
// would crash it with no reason given. This allocator says so instead.
void* checked_malloc(std::size_t bytes) {
  void* p = std::malloc(bytes);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void allocate(Halide::Buffer<>& buffer) { buffer.allocate(checked_malloc, std::free); }

Halide::Buffer<> sized_buffer(const PipelineArgument& a) {
  Halide::Buffer<> buffer(a.type, nullptr, a.extents);
  buffer.set_min(a.mins);
  allocate(buffer);
  return buffer;
}

// The pipeline a sample schedules, whichever kind it is, with its arguments sized for timing.
struct SamplePipeline {
  Halide::Pipeline pipeline;
  StageGraph graph;
  std::vector<std::string> ops;
  std::vector<PipelineArgument> inputs;
  PipelineArgument output;
  std::shared_ptr<Halide::Internal::GeneratorBase> generator;  // kept alive, if any
};

SamplePipeline sample_pipeline(const SampleSpec& spec, const Halide::Target& target) {
  SamplePipeline p;
  if (spec.generator) {
    GeneratorPipeline g = build_generator_pipeline(*spec.generator, target);
    p.pipeline = g.pipeline;
    p.graph = build_stage_graph(g.output);  // op kinds unknown ("")
    p.inputs = std::move(g.inputs);
    p.output = std::move(g.output_shape);
    p.generator = std::move(g.generator);
    return p;
  }
  const GeneratedPipeline g = generate_pipeline(spec.pipeline_seed, spec.pipeline);
  p.pipeline = g.pipeline();
  p.graph = build_stage_graph(g.output, g.func_op);
  p.ops = g.ops;
  const auto region = [](const TensorShape& s) {
    return std::vector<int>{s.width, s.height, s.channels};
  };
  for (std::size_t i = 0; i < g.inputs.size(); ++i) {
    p.inputs.push_back({g.inputs[i].name(),
                        g.inputs[i].type(),
                        true,
                        {0, 0, 0},
                        region(g.input_shapes[i]),
                        0,
                        g.inputs[i].parameter()});
  }
  p.output = {g.output.name(), g.output_type, true, {0, 0, 0}, region(g.output_shape), 0, {}};
  return p;
}

// The buffers a sample is timed on: its inputs (bound to their parameters, in argument order) and
// its output.
struct TimedBuffers {
  std::vector<Halide::Buffer<>> inputs;
  Halide::Buffer<> output;
};

// A random pipeline's buffers are exactly its estimates (its inputs are clamped at their edges).
TimedBuffers buffers_by_estimates(const SamplePipeline& sampled) {
  TimedBuffers out;
  for (const PipelineArgument& a : sampled.inputs) {
    if (!a.is_buffer) continue;
    Halide::Buffer<> buffer = sized_buffer(a);
    Halide::Internal::Parameter parameter = a.parameter;  // a handle: binds the pipeline's own
    parameter.set_buffer(buffer);
    out.inputs.push_back(buffer);
  }
  out.output = sized_buffer(sampled.output);
  return out;
}

using Shape = std::vector<halide_dimension_t>;

// A dense shape (the first dimension innermost) over the estimated region.
Shape estimated_shape(const PipelineArgument& a) {
  Shape shape;
  std::int64_t stride = 1;
  for (std::size_t d = 0; d < a.extents.size(); ++d) {
    if (stride > std::numeric_limits<std::int32_t>::max())
      fail("'{}' is estimated too big for Halide's 32-bit strides", a.name);
    shape.push_back({a.mins[d], a.extents[d], static_cast<std::int32_t>(stride), 0});
    stride *= a.extents[d];
  }
  return shape;
}

// What a bounds query wrote into `queried`, taken as RunGen takes it: an input keeps its present
// region in each dimension where the query's lies within it, and takes the query's elsewhere (a
// stencil's border; a region the generator's set_bounds fixes); an output (`exact`) takes the
// query's region (its bounds, a split that rounds up). The query's strides (the generator's
// stride constraints, e.g. an interleaved layout) where the region is the query's, dense strides
// otherwise. Sets `changed` when the region moved.
Shape adapted(const Shape& shape, const halide_buffer_t& queried, bool exact, bool* changed) {
  Shape out = shape;
  bool queried_region = true;
  for (std::size_t d = 0; d < out.size(); ++d) {
    const halide_dimension_t& q = queried.dim[d];
    const bool inside =
        std::int64_t{q.min} >= shape[d].min &&
        std::int64_t{q.min} + q.extent <= std::int64_t{shape[d].min} + shape[d].extent;
    if (exact || !inside) {
      if (q.extent < 1 || q.extent > (1 << 30))
        fail("the bounds query asks for an extent of {} in dimension {}", q.extent, d);
      if (q.min != shape[d].min || q.extent != shape[d].extent) *changed = true;
      out[d].min = q.min;
      out[d].extent = q.extent;
    }
    if (out[d].min != q.min || out[d].extent != q.extent) queried_region = false;
  }
  std::int64_t stride = 1;
  for (std::size_t d = 0; d < out.size(); ++d) {
    if (stride > std::numeric_limits<std::int32_t>::max())
      fail("the bounds query asks for a buffer too big for Halide's 32-bit strides");
    out[d].stride = queried_region && queried.dim[d].stride != 0
                        ? queried.dim[d].stride
                        : static_cast<std::int32_t>(stride);
    stride *= out[d].extent;
  }
  return out;
}

Halide::Buffer<> unallocated(const Halide::Type& type, const Shape& shape) {
  return Halide::Buffer<>(type, nullptr, static_cast<int>(shape.size()), shape.data());
}

// A generator's buffers are sized as Halide's RunGen sizes them: each input and the output start
// at their estimates, and a bounds query (the pipeline called with buffers that have a shape but
// no memory) says what the schedule reads and writes; each buffer is adapted to it (adapted()),
// and the query runs again on the new shapes until nothing changes. So a stencil that reads past
// its input's estimate (Halide's harris, camera_pipe) gets its border, an output whose bounds
// (set_bounds) disagree with its estimate (conv_layer) gets its bounds, and a pipeline whose
// algorithm depends on its input's size (iir_blur's scan over input.height()) runs on the
// estimated size (a query from empty inputs sizes those from nothing).
TimedBuffers buffers_by_bounds_query(Halide::Pipeline& pipeline, const SamplePipeline& sampled,
                                     const Halide::Target& target) {
  std::vector<const PipelineArgument*> inputs;
  std::vector<Shape> shapes;
  for (const PipelineArgument& a : sampled.inputs) {
    if (!a.is_buffer) continue;
    inputs.push_back(&a);
    shapes.push_back(estimated_shape(a));
  }
  Shape output_shape = estimated_shape(sampled.output);
  constexpr int kMaxQueries = 16;  // as Halide's own infer_input_bounds
  for (int query = 0;; ++query) {
    if (query == kMaxQueries)
      fail("the bounds query did not settle after {} rounds (the buffers kept changing)",
           kMaxQueries);
    std::vector<Halide::Buffer<>> queried;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      queried.push_back(unallocated(inputs[i]->type, shapes[i]));
      Halide::Internal::Parameter parameter = inputs[i]->parameter;
      parameter.set_buffer(queried.back());
    }
    Halide::Buffer<> output = unallocated(sampled.output.type, output_shape);
    pipeline.realize(output, target);  // a bounds query: no buffer has memory
    bool changed = false;
    for (std::size_t i = 0; i < inputs.size(); ++i)
      shapes[i] = adapted(shapes[i], *queried[i].raw_buffer(), false, &changed);
    output_shape = adapted(output_shape, *output.raw_buffer(), true, &changed);
    if (!changed) break;
  }
  TimedBuffers out;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    Halide::Buffer<> buffer = unallocated(inputs[i]->type, shapes[i]);
    allocate(buffer);
    Halide::Internal::Parameter parameter = inputs[i]->parameter;
    parameter.set_buffer(buffer);
    out.inputs.push_back(buffer);
  }
  out.output = unallocated(sampled.output.type, output_shape);
  allocate(out.output);
  return out;
}

// Writes random cost-model weights as the files Adams2019's Weights::load_from_dir reads (Halide
// 14), uniform in [-0.5, 0.5) as its own Weights::randomize draws them. The loader reads as many
// floats as each buffer holds and fails (then falls back to weights seeded by the clock, which
// would make the sample irreproducible) if a file is shorter, so every file holds more than any
// buffer of the network needs (the largest, head1's filter, has 8 x 40 x 7 floats).
void write_random_weights(const std::string& dir, std::uint64_t seed) {
  std::filesystem::create_directories(dir);
  Rng rng(seed);
  constexpr int kFloats = 16384;
  const std::pair<const char*, int> files[] = {
      {"head1_conv1_weight", kFloats}, {"head1_conv1_bias", kFloats},
      {"head2_conv1_weight", kFloats}, {"head2_conv1_bias", kFloats},
      {"trunk_conv1_weight", kFloats}, {"trunk_conv1_bias", kFloats}};
  for (const auto& [name, count] : files) {
    std::vector<float> values(static_cast<std::size_t>(count));
    for (float& v : values) v = static_cast<float>(rng.unit() - 0.5);
    const std::string path = dir + "/" + name + ".data";
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) fail("{}: cannot write", path);
    const std::size_t written = std::fwrite(values.data(), sizeof(float), values.size(), f);
    std::fclose(f);
    if (written != values.size()) fail("{}: short write", path);
  }
}

}  // namespace

void fill_input_buffer(Halide::Buffer<>& buffer, std::uint64_t seed) { fill_input(buffer, seed); }

halide_scalar_value_t scalar_value(const Halide::Type& t, double v) {
  halide_scalar_value_t out;
  out.u.u64 = 0;
  with_cpp_type(t, "scalar input", [&](auto zero) {
    const auto value = static_cast<decltype(zero)>(v);
    std::memcpy(&out.u, &value, sizeof value);  // every member of the union starts at its start
  });
  return out;
}

void run_sample_in_this_process(const SampleSpec& spec, const MessageSink& send) {
  // The plugin reads these once, on first use; this process is fresh for this sample.
  ::setenv("HL_BEAM_SIZE", std::to_string(spec.beam_size).c_str(), 1);
  ::setenv("HL_RANDOM_DROPOUT", std::to_string(spec.random_dropout).c_str(), 1);
  ::setenv("HL_SEED", std::to_string(spec.search_seed % 2147483647ULL).c_str(), 1);
  ::setenv("HL_NUM_THREADS", std::to_string(spec.threads).c_str(), 1);
  ::unsetenv("HL_WEIGHTS_DIR");  // the plugin's built-in weights
  if (!spec.weights_file.empty()) ::setenv("HL_WEIGHTS_DIR", spec.weights_file.c_str(), 1);
  if (spec.random_weights_seed != 0) {
    if (spec.object_path.empty() && spec.random_weights_dir.empty())
      fail("random cost-model weights need a directory or an object path");
    const std::string dir =
        !spec.random_weights_dir.empty() ? spec.random_weights_dir : spec.object_path + ".weights";
    write_random_weights(dir, spec.random_weights_seed);
    ::setenv("HL_WEIGHTS_DIR", dir.c_str(), 1);
  }
  ::unsetenv("HL_DEBUG_AUTOSCHEDULE");

  const Halide::Target target = spec.target.empty() ? host_target() : Halide::Target(spec.target);
  SamplePipeline sampled = sample_pipeline(spec, target);
  const StageGraph& graph = sampled.graph;
  {
    Json inputs = Json::array();
    for (const PipelineArgument& a : sampled.inputs) {
      inputs.push_back({{"name", a.name}, {"type", type_name(a.type)}, {"shape", a.extents}});
    }
    send({{"type", "graph"},
          {"graph", stage_graph_to_json(graph)},
          {"ops", sampled.ops},
          {"inputs", inputs},
          {"output",
           {{"type", type_name(sampled.output.type)}, {"shape", sampled.output.extents}}}});
  }

  Halide::load_plugin(adams2019_plugin_path());
  Halide::Pipeline& pipeline = sampled.pipeline;
  Stopwatch schedule_clock;
  // Last-level cache and balance as in MachineParams::generic(); parallelism = timing threads.
  const Halide::MachineParams params(
      spec.machine_parallelism > 0 ? spec.machine_parallelism : spec.threads,
      static_cast<std::uint64_t>(spec.machine_cache_bytes),
      static_cast<float>(spec.machine_balance));
  const Halide::AutoSchedulerResults results = pipeline.auto_schedule("Adams2019", target, params);
  const double autoschedule_seconds = schedule_clock.seconds();
  const Featurization features =
      parse_featurization(results.featurization, static_cast<int>(graph.stages.size()));
  send({{"type", "schedule"},
        {"source", results.schedule_source},
        {"autoschedule_seconds", autoschedule_seconds},
        {"schedule_features", float_blob(features.schedule)},
        {"pipeline_features", float_blob(features.pipeline)}});
  if (!spec.object_path.empty() && !spec.time_it) {
    // Ahead of time: the object holds only this schedule; one standalone runtime is linked in
    // with all the schedules of the pipeline (see aot.h).
    Stopwatch compile_clock;
    const std::vector<Halide::Argument> arguments = pipeline.infer_arguments();
    pipeline.compile_to_object(spec.object_path, arguments, spec.function_name,
                               target.with_feature(Halide::Target::NoRuntime));
    Json names = Json::array();
    for (const Halide::Argument& a : arguments) names.push_back(a.name);
    names.push_back(sampled.output.name);
    send(
        {{"type", "compiled"}, {"compile_seconds", compile_clock.seconds()}, {"arguments", names}});
    return;
  }
  if (!spec.time_it) return;

  Stopwatch compile_clock;
  pipeline.compile_jit(target);
  send({{"type", "compiled"}, {"compile_seconds", compile_clock.seconds()}});

  for (PipelineArgument& a : sampled.inputs) {
    if (!a.is_buffer) a.parameter.set_scalar(a.type, scalar_value(a.type, a.scalar));
  }
  const TimedBuffers buffers = spec.generator ? buffers_by_bounds_query(pipeline, sampled, target)
                                              : buffers_by_estimates(sampled);
  for (std::size_t i = 0; i < buffers.inputs.size(); ++i) {
    Halide::Buffer<> buffer = buffers.inputs[i];
    fill_input(buffer, derive_seed(spec.pipeline_seed, 1000 + i));
  }
  Halide::Buffer<> output = buffers.output;
  const Timing timing = time_runs([&] { pipeline.realize(output); }, spec.timing);
  const auto extents = [](const Halide::Buffer<>& b) {
    std::vector<int> e;
    for (int d = 0; d < b.dimensions(); ++d) e.push_back(b.dim(d).extent());
    return e;
  };
  Json timed_inputs = Json::array();
  for (const Halide::Buffer<>& b : buffers.inputs) timed_inputs.push_back(extents(b));
  send({{"type", "timing"},
        {"timed_inputs", timed_inputs},
        {"timed_output", extents(output)},
        {"min_seconds", timing.min_seconds},
        {"median_seconds", timing.median_seconds},
        {"max_seconds", timing.max_seconds},
        {"first_seconds", timing.first_seconds},
        {"batches", timing.batches},
        {"runs_per_batch", timing.runs_per_batch}});
  if (spec.object_path.empty()) return;

  // Also ahead of time, with what it ran on, so that it can be timed again beside others in one
  // process (perf tune's head-to-head): the same schedule, target and arguments.
  Stopwatch object_clock;
  const std::vector<Halide::Argument> arguments = pipeline.infer_arguments();
  pipeline.compile_to_object(spec.object_path, arguments, spec.function_name,
                             target.with_feature(Halide::Target::NoRuntime));
  const auto dims = [](const Halide::Buffer<>& b) {
    Json out = Json::array();
    for (int d = 0; d < b.dimensions(); ++d)
      out.push_back({b.dim(d).min(), b.dim(d).extent(), b.dim(d).stride()});
    return out;
  };
  Json bound = Json::array();
  Json names = Json::array();
  for (const Halide::Argument& argument : arguments) {
    bool found = false;
    std::size_t buffer_index = 0;  // the input's index among the buffer inputs: its data's seed
    for (const PipelineArgument& a : sampled.inputs) {
      if (a.parameter.name() == argument.name) {
        if (a.is_buffer) {
          bound.push_back({{"name", argument.name},
                           {"kind", "buffer"},
                           {"type", type_name(a.type)},
                           {"dims", dims(buffers.inputs[buffer_index])},
                           {"seed", derive_seed(spec.pipeline_seed, 1000 + buffer_index)}});
        } else {
          bound.push_back({{"name", argument.name},
                           {"kind", "scalar"},
                           {"type", type_name(a.type)},
                           {"value", a.scalar}});
        }
        found = true;
        break;
      }
      if (a.is_buffer) ++buffer_index;
    }
    if (!found)
      fail("the compiled pipeline takes '{}', which the timing did not bind", argument.name);
    names.push_back(argument.name);
  }
  bound.push_back({{"name", sampled.output.name},
                   {"kind", "output"},
                   {"type", type_name(sampled.output.type)},
                   {"dims", dims(output)}});
  names.push_back(sampled.output.name);
  send({{"type", "object"},
        {"compile_seconds", object_clock.seconds()},
        {"arguments", names},
        {"bound_arguments", bound}});
}

SampleResult run_sample(const SampleSpec& spec, const SampleLimits& limits) {
  const ChildOutcome outcome =
      run_in_child([&spec](const MessageSink& send) { run_sample_in_this_process(spec, send); },
                   {{"start", limits.generate_seconds},
                    {"graph", limits.autoschedule_seconds},
                    {"schedule", limits.compile_seconds},
                    {"compiled", limits.run_seconds},
                    {"timing", limits.compile_seconds}},
                   limits.run_seconds, limits.memory_cap_bytes);

  SampleResult result;
  result.wall_seconds = outcome.wall_seconds;
  try {
    for (const Json& m : outcome.messages) {
      const std::string type = m.value("type", "");
      if (type == "graph") {
        result.graph = stage_graph_from_json(m.at("graph"));
        result.ops = m.at("ops").get<std::vector<std::string>>();
        for (const Json& in : m.at("inputs")) {
          result.input_shapes.push_back(in.at("shape").get<std::vector<int>>());
          result.input_types.push_back(in.at("type").get<std::string>());
        }
        result.output_shape = m.at("output").at("shape").get<std::vector<int>>();
        result.output_type = m.at("output").at("type").get<std::string>();
        result.has_graph = true;
      } else if (type == "schedule") {
        result.schedule_source = m.at("source").get<std::string>();
        result.autoschedule_seconds = m.at("autoschedule_seconds").get<double>();
        result.features.schedule = floats_from_blob(m.at("schedule_features"));
        result.features.pipeline = floats_from_blob(m.at("pipeline_features"));
        result.features.stages = static_cast<int>(result.graph.stages.size());
        result.has_schedule = true;
      } else if (type == "compiled") {
        result.compile_seconds = m.at("compile_seconds").get<double>();
        if (m.contains("arguments")) {
          result.argument_names = m.at("arguments").get<std::vector<std::string>>();
          result.has_object = true;
        }
      } else if (type == "object") {
        result.argument_names = m.at("arguments").get<std::vector<std::string>>();
        result.bound_arguments = m.at("bound_arguments");
        result.has_object = true;
      } else if (type == "timing") {
        result.timing.min_seconds = m.at("min_seconds").get<double>();
        result.timing.median_seconds = m.at("median_seconds").get<double>();
        result.timing.max_seconds = m.at("max_seconds").get<double>();
        result.timing.first_seconds = m.at("first_seconds").get<double>();
        result.timing.batches = m.at("batches").get<int>();
        result.timing.runs_per_batch = m.at("runs_per_batch").get<int>();
        result.timed_input_shapes = m.at("timed_inputs").get<std::vector<std::vector<int>>>();
        result.timed_output_shape = m.at("timed_output").get<std::vector<int>>();
        result.has_timing = true;
      }
    }
  } catch (const std::exception& e) {
    result.status = "error:protocol";
    result.detail = e.what();
    return result;
  }
  const bool complete = !spec.object_path.empty() ? result.has_object
                        : spec.time_it            ? result.has_timing
                                                  : result.has_schedule;
  if (outcome.status == "ok" && complete) {
    result.status = "ok";
  } else {
    const std::string kind = outcome.status == "ok" ? "error" : outcome.status;
    // The phase that was running: the one after the last progress message received (an "error"
    // message is not progress: counting it named every exception's phase "exit" in dataset v1).
    std::string last = "start";
    for (const Json& m : outcome.messages) {
      const std::string type = m.value("type", "");
      if (type != "error") last = type;
    }
    const std::map<std::string, std::string> running = {
        {"start", "generate"},
        {"graph", "autoschedule"},
        {"schedule", "compile"},
        {"compiled", spec.object_path.empty() || spec.time_it ? "run" : "exit"},
        {"timing", spec.object_path.empty() ? "exit" : "compile"}};
    const auto it = running.find(last);
    result.status = fmt::format("{}:{}", kind, it == running.end() ? outcome.phase : it->second);
    result.detail = outcome.detail;
    if (result.detail.empty()) {
      // Every failure keeps a reason: say at least how the child ended.
      result.detail = outcome.status == "ok"
                          ? "exited without reporting its result"
                          : fmt::format("{} after '{}'", outcome.status, outcome.phase);
    }
    if (outcome.status == "crashed" && !outcome.stderr_tail.empty()) {
      // A crash sends no message; the last line of stderr usually names the failed assertion.
      // (An error has its message: the stderr before it is the autoscheduler's chatter.)
      std::string tail = outcome.stderr_tail;
      while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
      const auto nl = tail.rfind('\n', tail.size() > 400 ? tail.size() - 400 : 0);
      result.detail +=
          fmt::format(" | stderr: {}", tail.substr(nl == std::string::npos ? 0 : nl + 1));
    }
    if (spec.time_it && result.has_timing) {
      // Timed, then its ahead-of-time copy failed: the sample stands, without the copy.
      result.object_error = fmt::format("{}: {}", result.status, result.detail);
      result.status = "ok";
      result.detail.clear();
    }
  }
  return result;
}

}  // namespace tensorplan::perf
