// Random Halide pipelines for the perf dataset: a seed and a stage budget give a pipeline of
// 3-D (x, y, channel) tensors built from the operations of image processing and deep learning
// (pointwise math, casts, convolutions, pooling, boundary conditions, resampling, channel mixing,
// scans, histograms, data-dependent lookups, joins of two earlier stages). Estimates are set on
// every input and on the output, so the Adams2019 autoscheduler can schedule it.
//
// Every Func, Var and RDom is named explicitly from the op's index (never from Halide's global
// name counters), so the same seed gives the same pipeline, stage names and stage order in any
// process, whatever was generated before.
#pragma once

#include <Halide.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tensorplan::perf {

// Bumped whenever the same seed would give a different pipeline; stored in the dataset.
inline constexpr int kPipelineGeneratorVersion = 1;

struct PipelineOptions {
  int min_stages = 4;   // stage budget drawn in [min_stages, max_stages]; a stage is one
  int max_stages = 16;  // definition (pure or update) of one Func, as Adams2019 counts them
  int min_size = 48;    // input width and height, pixels, drawn in [min_size, max_size]
  int max_size = 192;
  int max_channels = 16;  // upper bound on the channels of any tensor
  // Rough bound on the scalar arithmetic of one run (multiply-adds), so that every pipeline
  // runs in milliseconds on one core under a good schedule.
  std::int64_t max_work = 60'000'000;
};

// Options for tests: a few small stages, so that compiling and timing take well under a second.
PipelineOptions tiny_pipeline_options();

struct TensorShape {
  int width = 1;     // extent of x
  int height = 1;    // extent of y
  int channels = 1;  // extent of c
};

struct GeneratedPipeline {
  std::uint64_t seed = 0;
  std::vector<Halide::ImageParam> inputs;  // 3-D, with estimates; named input0, input1
  std::vector<TensorShape> input_shapes;   // the estimate (and benchmark size) of each input
  Halide::Func output;                     // 3-D, with estimates
  TensorShape output_shape;
  Halide::Type output_type;
  std::vector<std::string> ops;                // the op kinds, in generation order
  std::map<std::string, std::string> func_op;  // Func name -> the op kind that made it
  int stage_budget = 0;                        // the drawn budget (the result may differ by a few)

  Halide::Pipeline pipeline() const { return Halide::Pipeline(output); }
};

// Deterministic: the same (seed, options) always give the same pipeline.
GeneratedPipeline generate_pipeline(std::uint64_t seed, const PipelineOptions& options);

}  // namespace tensorplan::perf
