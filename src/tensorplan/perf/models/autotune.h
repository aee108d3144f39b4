// Autotuning with a cost model, as a Halide user would use it: sample many schedules of a
// pipeline (a random one, or a user's generator) with Adams2019's randomised greedy search, rank
// them with the model (cheap), compile and time only the model's favourites (expensive), and
// compare the fastest with Adams2019's default beam-search schedule.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tensorplan/perf/generate.h"
#include "tensorplan/perf/halide/interleaved_timer.h"
#include "tensorplan/perf/models/cost_model.h"

namespace tensorplan::perf {

struct TuneOptions {
  // Which random pipeline: pipeline `pipeline` of the run with seed `run_seed`, as `perf gen`
  // numbers them (the shipped dataset is run seed 1, default pipeline options).
  std::uint64_t run_seed = 1;
  int pipeline = 0;
  PipelineOptions pipeline_options;
  // Set: tune this generator's pipeline instead (run_seed and pipeline then only seed the
  // randomised searches and the input data, as they would for the random pipeline).
  std::optional<GeneratorSpec> generator;
  // Distinct randomised schedules to rank: the search often repeats itself (the beam's schedule,
  // or one drawn before), so up to kDrawsPerSample times as many are drawn to find them.
  int samples = 64;
  // Which recipe draws them: 2 (default), dataset v2's sample plan (sample_spec_v2: beam 8 under
  // drawn MachineParams, beam 1 with dropout, the same under drawn MachineParams, and the greedy
  // search under random cost-model weights, which in v2 is most often the pipeline's fastest);
  // 1, v1's (beam 1 with dropout), past the first `samples` draws also under drawn MachineParams.
  int sample_plan = 2;
  int top = 5;         // of those, how many to compile and time
  int threads = 1;     // HL_NUM_THREADS and autoscheduler parallelism
  std::string target;  // "" = host_target()
  TimingOptions timing;
  SampleLimits limits;
  // The head-to-head timing of the beam search's schedule against the picks (HeadToHead).
  InterleavedOptions head_to_head;
  // Called after each step with a short status (for a progress line); may be empty.
  std::function<void(const std::string&)> progress;
  // Polled between steps; when it returns true the tuning stops and returns what it has timed
  // (TuneResult::interrupted). May be empty.
  std::function<bool()> interrupted;
};

constexpr int kDrawsPerSample = 4;

struct TunedSchedule {
  int sample = 0;             // 0 = the beam search, k >= 1 = randomised sample k
  std::string kind;           // how it was drawn: "beam", "random", "random-weights", ... (as v2)
  double predicted = 0;       // the model's prediction (seconds or rank score)
  double seconds = 0;         // measured: fastest batch, per run; 0 if not timed
  double median_seconds = 0;  // measured: median batch, per run (its distance from `seconds`
                              // is the timing noise); 0 if not timed
  std::string status;         // "ok" or what failed: "timeout:compile", "crashed:run", ...
  std::string detail;         // for a failure: the recorded reason (signal, error message, limit)
  std::string schedule_source;
  // (median - min) / min of the timed batches: how much timings of this schedule vary.
  double noise() const;
};

// The beam search's schedule and the picks that ran, timed again against each other in one
// process, interleaved in rounds (halide/head_to_head.h): timed apart, two schedules differ by the
// machine's drift between their timings as well, which neither one's own noise figure shows.
struct HeadToHead {
  std::string status;                       // "ok"; "" when not run; else why it failed
  std::vector<int> samples;                 // 0 (the beam search) first, then the picks that ran
  std::vector<std::vector<double>> rounds;  // [schedule][round]: seconds per run
  std::vector<double> seconds;              // [schedule]: the median over rounds
  int best = -1;                            // index into `samples` (>= 1) of the fastest pick
  // seconds[0] / seconds[best] (> 1: the pick is faster); 0 when not timed.
  double speedup() const;
  // The rounds in which the fastest pick ran faster than the beam search's schedule.
  int rounds_faster() const;
};

struct TuneResult {
  // Adams2019's default schedule, timed; status is not "ok" when it failed to run (the tuning goes
  // on without a speed-up to report).
  TunedSchedule beam;
  std::vector<TunedSchedule> ranked;  // every sampled schedule, best predicted first (unique)
  std::vector<TunedSchedule> timed;   // the model's top picks, as timed
  int best = -1;                      // index into `timed` of the fastest, -1 if none ran
  int draws = 0;                      // randomised searches run
  int sampled = 0;                    // of those, searches that produced a schedule
  int duplicates = 0;                 // of those, schedules identical to an earlier one
  bool interrupted = false;           // stopped early by TuneOptions::interrupted
  // The extents of the buffers the schedules were timed on (buffer inputs, output), as the beam
  // search's run sized them (a generator's by a bounds query); empty if it did not run.
  std::vector<std::vector<int>> timed_input_shapes;
  std::vector<int> timed_output_shape;
  HeadToHead head_to_head;
  double seconds = 0;  // wall time of the whole tuning
  // beam time / best time (> 1: the tuned schedule is faster), from the head-to-head timing when
  // it ran, else from the separate timings; 0 when either is missing.
  double speedup() const;
  // Whether "faster" is a measured fact rather than a fluctuation: with the head-to-head timing,
  // the best pick was faster in every round (a sign test: by chance at most 2^-rounds for each
  // pick timed); without it, by more than the two separate timings' noise together.
  bool faster_beyond_noise() const;
};

// Throws Error if the pipeline cannot be generated (for a generator: checked in this process
// first, so a bad library, name, param or missing estimate is reported as such), the beam search
// finds no schedule, or no sample yields one that differs from it (unless interrupted). Sampling
// runs in child processes (one per schedule, as Adams2019 requires); the beam search's schedule
// and the picks are also compiled ahead of time, into a temporary directory, for the head-to-head
// timing.
TuneResult autotune(CostModel& model, const TuneOptions& options);

}  // namespace tensorplan::perf
