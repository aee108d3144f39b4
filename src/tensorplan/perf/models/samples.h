// The measured dataset as the cost models see it: one PipelineSamples per pipeline, holding its
// stage graph, its schedule-independent features and every successfully timed schedule.
// The train/validation/test split is by pipeline and fixed (a function of the pipeline index), so
// every model, every run and every machine sees the same split.
#pragma once

#include <string>
#include <vector>

#include "tensorplan/perf/halide/stage_graph.h"

namespace tensorplan::perf {

struct Shard;

struct ScheduleSample {
  int sample = 0;                        // 0 = Adams2019 beam search, 1.. = randomised
  std::vector<float> schedule_features;  // stages x 39 (kScheduleFeatureCount), row s = stage s
  double seconds = 0;                    // measured run time (minimum over batches), seconds
  std::string schedule_source;           // the schedule as C++ (for perf tune's output)
};

struct PipelineSamples {
  int pipeline = 0;                       // pipeline index within the run
  StageGraph graph;                       // stages in producer-first order, edges
  std::vector<float> pipeline_features;   // stages x 287 (kPipelineFeatureCount)
  std::vector<ScheduleSample> schedules;  // timed ("ok") schedules only, in dataset order
  int stages() const { return static_cast<int>(graph.stages.size()); }
};

enum class Split { kTrain, kValidation, kTest };

// The fixed split, 70/10/20 by pipeline index p: validation if p % 10 == 7, test if p % 10 >= 8,
// train otherwise.
Split split_of(int pipeline_index);
const char* split_name(Split split);

// Reads every shard under `path` (a directory or one shard file). Pipelines with fewer than two
// timed schedules are dropped (nothing to rank). Sorted by pipeline index.
std::vector<PipelineSamples> load_samples(const std::string& path);
// The same from shards already read (perf eval also computes the dataset's statistics from them).
std::vector<PipelineSamples> samples_from_shards(std::vector<Shard> shards);

// The pipelines of one split.
std::vector<PipelineSamples> select_split(const std::vector<PipelineSamples>& all, Split split);

}  // namespace tensorplan::perf
