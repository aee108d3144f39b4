// Synthetic pipelines for the cost-model tests: a known relation between features and run time
// that a model must learn. A schedule's time is the sum over stages of
//   time_unit * (1 + work_gain * p) * exp(speed_gain * s) + producer_share * (the producer's cost)
// with p the stage's first pipeline feature and s its first schedule feature; features 1-3 of
// each kind are noise and the rest zero. Deterministic for a seed.
#pragma once

#include <vector>

#include "tensorplan/perf/models/cost_model.h"
#include "tensorplan/perf/models/samples.h"

namespace tensorplan::testing {

struct SyntheticRelation {
  bool chain = false;         // stages form a chain (edge s-1 -> s); else no edges
  float pipeline_scale = 1;   // pipeline features drawn from [0, pipeline_scale)
  float schedule_scale = 1;   // schedule features drawn from [0, schedule_scale)
  double work_gain = 1;       // how much the pipeline feature adds to a stage's work
  double speed_gain = 1;      // how steeply the schedule feature slows a stage
  double time_unit = 1e-3;    // seconds
  double producer_share = 0;  // a share of the producer's cost (what the graph carries)
  int schedules_per_pipeline = 12;
};

// `count` pipelines indexed first_index, first_index + 1, ...; 2-5 stages each.
std::vector<perf::PipelineSamples> synthetic_pipelines(const SyntheticRelation& relation, int count,
                                                       int first_index, unsigned seed);

// One query per schedule of every pipeline, in order.
std::vector<perf::CostQuery> queries_of(const std::vector<perf::PipelineSamples>& pipelines);

}  // namespace tensorplan::testing
