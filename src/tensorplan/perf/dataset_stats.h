// Summaries of a measured dataset (perf stats) and merging shards into one file (perf merge).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tensorplan/common/json.h"
#include "tensorplan/perf/dataset.h"

namespace tensorplan::perf {

struct DatasetStats {
  int shards = 0;
  int pipelines = 0;                    // pipeline records
  int schedules = 0;                    // successfully timed schedules
  int samples = 0;                      // schedule records, failed ones included
  std::map<std::string, int> failures;  // status -> count, for status != "ok"
  int torn_tails = 0;  // shards whose last record is incomplete (a run in progress/killed)
  double min_runtime = 0, median_runtime = 0, max_runtime = 0;  // seconds, over timed schedules
  double median_spread = 0;  // median over schedules of (median - min) / min batch time
  double p90_spread = 0;
  // The control schedule, re-timed throughout: how much repeated timings of one schedule disagree.
  int controls = 0;
  double control_min = 0, control_max = 0;  // seconds
  double control_cv = 0;                    // standard deviation / mean of the control's minimum
  int control_schedules = 0;  // distinct control schedules seen (1 = deterministic, as intended)
  // Schedule quality: how often the beam search beats the median randomised schedule.
  int beam_compared = 0;
  double beam_beats_median_random = 0;
  double median_best_over_worst = 0;  // per pipeline: fastest / slowest timed schedule
  double wall_seconds = 0;            // total time spent in samples
  int stages_min = 0, stages_max = 0;
  double stages_mean = 0;
  std::map<std::string, int> ops;  // generator op kind -> count over pipelines
  Json config;                     // the first shard's config
};

DatasetStats compute_stats(const std::vector<Shard>& shards);
Json stats_to_json(const DatasetStats& stats);
std::string stats_to_text(const DatasetStats& stats);

// Merges shards of one run (same settings apart from the shard index) into one shard file at
// `output` (written to a temporary file and renamed). Torn tails are dropped; corrupt inputs,
// mixed settings and duplicate pipelines are errors, and then nothing is written.
void merge_shards(const std::vector<std::string>& inputs, const std::string& output);

}  // namespace tensorplan::perf
