// Dataset generation: the pipelines of one shard, each with its schedules sampled, featurized and
// timed in child processes, appended to the shard as they finish. Shards are deterministic and
// disjoint (shard i of n holds the pipelines p with p % n == i), so any number of machines, a
// cluster's job array or MPI ranks can generate them independently; --resume continues a shard.
//
// Format 2 (the default, generate_v2.cc): per pipeline, all schedules are compiled ahead of time
// in parallel child processes, then timed together in one timing process, interleaved in rounds,
// on a quiet machine; a random few pipelines are timed again at the end of the shard to measure
// how well labels repeat. Format 1 (generate.cc) is the first dataset's protocol, kept so its
// figures can be re-measured.
#pragma once

#include <cstdint>
#include <string>

#include "tensorplan/common/rng.h"
#include "tensorplan/perf/halide/benchmark.h"
#include "tensorplan/perf/halide/interleaved_timer.h"
#include "tensorplan/perf/halide/random_pipeline.h"
#include "tensorplan/perf/halide/sampler.h"
#include "tensorplan/perf/quiet_machine.h"

namespace tensorplan::perf {

struct GenerateOptions {
  int pipelines = 300;     // pipelines in the whole run (all shards)
  int schedules = 32;      // schedules per pipeline (v1: 1 beam search + randomised; v2: see
                           // sample_spec_v2)
  std::uint64_t seed = 1;  // the run's seed; pipeline p's seed is derive_seed(seed, p)
  int shard = 0;           // this shard's index, 0 <= shard < shards
  int shards = 1;
  std::string out_dir;     // the shard file goes here
  bool resume = false;     // continue an existing shard (it must have the same settings)
  int threads = 1;         // HL_NUM_THREADS and autoscheduler parallelism
  int control_every = 25;  // re-time the control schedule after every this many samples
  PipelineOptions pipeline;
  TimingOptions timing;
  SampleLimits limits;
  std::string target;      // "" = host_target()
  bool quiet = false;      // no progress on stderr
  int max_samples = -1;    // stop after this many new samples (-1: run to the end)
  int format_version = 2;  // 2: AOT + interleaved rounds (generate_v2.cc); 1: the v1 protocol
  // Format 2 only.
  int jobs = 2;                   // schedules compiled (and checked) in parallel
  InterleavedOptions rounds;      // the interleaved timing
  QuietOptions quiet_machine;     // waiting for, and checking, a quiet machine
  double retime_fraction = 0.05;  // pipelines timed again at the end of the shard
  int max_pipelines = -1;         // stop after this many new pipelines (-1: run to the end)
  std::string work_dir;           // objects and libraries ("": a fresh directory under $TMPDIR)

  // Tests only: this sample aborts the timing process (-1: none).
  int crash_sample_in_timing = -1;
  // Tests only: the first this many timing processes of each pipeline abort as they start.
  int fail_first_timings = 0;
};

struct GenerateSummary {
  std::string shard_path;
  // Format 2 counts whole pipelines (samples_* count their schedules too).
  int pipelines_before = 0, pipelines_measured = 0, pipelines_total = 0;
  int retimes_before = 0, retimes_measured = 0, retimes_total = 0;
  int samples_before = 0;    // already in the shard (resume)
  int samples_measured = 0;  // measured by this call
  int samples_ok = 0;        // of those, timed successfully
  int samples_total = 0;     // the shard's full size (its pipelines x schedules)
  double seconds = 0;
};

// The shard's file name: "shard-00003-of-00008.tpshard".
std::string shard_file_name(int shard, int shards);

// Creates the output directory if needed; fails (Error) if it cannot be made or written.
void prepare_output_directory(const std::string& dir);

// The settings recorded in the shard header; a resumed shard must match them.
Json generation_config(const GenerateOptions& options);

// How a dataset's pipelines were made, from its first shard's header: pipeline p of it is the
// random pipeline (`seed`, p) drawn with `pipeline`, its schedules compiled for `target`.
struct DatasetRun {
  std::uint64_t seed = 0;
  int pipelines = 0;
  PipelineOptions pipeline;
  std::string target;
};
// `path`: a shard, or a directory of shards. Throws Error if it holds none, or its header lacks
// the settings.
DatasetRun dataset_run(const std::string& path);

// The schedule settings of sample k of a pipeline (k = 0: beam search 32, no dropout).
SampleSpec sample_spec(const GenerateOptions& options, int pipeline, int sample);

// Format 2's sample plan: sample 0 the beam search with default MachineParams; samples 1-3 the
// beam search under drawn MachineParams; of the rest, a quarter beam-1 samples with dropout drawn
// log-uniformly over the whole range 1..100 ("random"), a quarter the same under drawn
// MachineParams ("random-machine"), the rest (half) the greedy search under a cost model of
// random weights ("random-weights"). `kind` gets "beam", "beam-machine" or those.
SampleSpec sample_spec_v2(const GenerateOptions& options, int pipeline, int sample,
                          std::string* kind);

// Draws Adams2019's MachineParams (parallelism, cache size, balance) for a sample, from `rng` in
// that order (format 2's "machine" samples; perf tune's extra draws).
void draw_machine_params(Rng& rng, SampleSpec& spec);

// Whether pipeline p is one the repeatability pass times again (a fixed draw from the seed).
bool retimed_pipeline(const GenerateOptions& options, int pipeline);

// Format 2: generate_shard calls this when options.format_version == 2.
GenerateSummary generate_shard_v2(const GenerateOptions& options);

// Checks the options (throws Error with a clear message), then generates or resumes the shard.
GenerateSummary generate_shard(const GenerateOptions& options);

// MPI entry point: one shard per rank (shard = rank, shards = size); rank 0 prints a summary.
// Returns false if tensorplan was built without MPI.
bool mpi_available();
GenerateSummary generate_shard_mpi(GenerateOptions options, int* argc, char*** argv);

}  // namespace tensorplan::perf
