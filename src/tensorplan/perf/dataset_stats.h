// Summaries of a measured dataset (perf stats) and merging shards into one file (perf merge).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tensorplan/common/json.h"
#include "tensorplan/perf/dataset.h"

namespace tensorplan::perf {

// How well two timings of the same schedules agree (the repeatability gate of format 2).
struct Agreement {
  int pipelines = 0;  // pipelines with at least two schedules in both timings
  int schedules = 0;
  double kendall_tau = 0;                 // over all within-pipeline pairs (pooled; ties left out)
  double kendall_tau_10pct = 0;           // over pairs whose first labels are at least 10% apart
  double median_relative_difference = 0;  // |second - first| / first, median over schedules
  // The same once each pipeline's common shift is taken out (its second labels divided by the
  // median second/first ratio of its schedules): how well the labels repeat *within* a pipeline,
  // which is what ranking its schedules needs. On this machine a whole pipeline moves by 5-30%
  // between timings minutes to hours apart (docs/perf-dataset.md).
  double median_relative_difference_within = 0;
  double median_pipeline_shift = 0;  // median over pipelines of |median second/first - 1|
};
// `pipelines`: per pipeline, (first label, second label) of each schedule timed in both.
Agreement compute_agreement(const std::vector<std::vector<std::pair<double, double>>>& pipelines);

struct DatasetStats {
  int shards = 0;
  int format_version = 0;               // of every shard (0 if they differ)
  int pipelines = 0;                    // pipeline records
  int schedules = 0;                    // successfully timed schedules
  int samples = 0;                      // schedule records, failed ones included
  std::map<std::string, int> failures;  // status -> count, for status != "ok"
  // Damaged byte ranges the reader skipped, one "<shard>: bytes <begin> to <end>" each.
  std::vector<std::string> damaged;
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
  // Spread of the labels within a pipeline: do the schedules differ?
  double median_slowest_over_fastest = 0;  // median over pipelines
  double pairs_within_5pct = 0;            // of all within-pipeline pairs, the fraction within 5%
  double median_label_at_least_1ms = 0;    // fraction of timed schedules whose label is >= 1 ms
  // Format 2: the repeatability pass, and the machine while timing.
  Agreement repeatability;
  int repeat_different_schedules = 0;  // recompiled schedules that differ (left out)
  // Repeatability pipelines whose two timings name different processors (one that names none
  // counts as different; older shards named none): the dataset is made over runs on changing
  // machines.
  int repeat_on_another_cpu = 0;
  std::map<std::string, int> timings_by_cpu;  // kept timings per processor (cpu_identity())
  int timings_discarded = 0;  // pipelines timed again because the machine was busy meanwhile
  double median_other_busy = 0, max_other_busy = 0;  // other CPUs while timing kept timings
  double median_wait_seconds = 0;                    // waiting for a quiet machine, per timing
  // Kept timings, and those bracketed by the reference workload (quiet_machine.h); how much
  // slower than its baseline (quiet_machine.h) the reference ran around them (max of before and
  // after; negative: faster).
  int timings = 0, timings_with_reference = 0;
  double median_reference_slowdown = 0, max_reference_slowdown = 0;
  double wall_seconds = 0;  // total time spent in samples
  int stages_min = 0, stages_max = 0;
  double stages_mean = 0;
  std::map<std::string, int> ops;  // generator op kind -> count over pipelines
  Json config;                     // the first shard's config
  // Format 2: per sample kind ("beam", "random-machine", ...): samples, timed, median seconds of
  // autoscheduling, compiling and of the label, and the median over pipelines of the kind's
  // fastest label relative to the pipeline's fastest.
  Json by_kind = Json::object();
};

DatasetStats compute_stats(const std::vector<Shard>& shards);
Json stats_to_json(const DatasetStats& stats);
std::string stats_to_text(const DatasetStats& stats);

// Merges shards of one run (same settings apart from the shard index) into one shard file at
// `output` (written to a temporary file and renamed). Torn tails are dropped; corrupt inputs,
// mixed settings and duplicate pipelines are errors, and then nothing is written.
void merge_shards(const std::vector<std::string>& inputs, const std::string& output);

}  // namespace tensorplan::perf
