// Dataset generation: the pipelines of one shard, each with its schedules sampled, featurized and
// timed in child processes, appended to the shard as they finish. Shards are deterministic and
// disjoint (shard i of n holds the pipelines p with p % n == i), so any number of machines, a
// cluster's job array or MPI ranks can generate them independently; --resume continues a shard.
#pragma once

#include <cstdint>
#include <string>

#include "tensorplan/perf/halide/benchmark.h"
#include "tensorplan/perf/halide/random_pipeline.h"
#include "tensorplan/perf/halide/sampler.h"

namespace tensorplan::perf {

struct GenerateOptions {
  int pipelines = 300;     // pipelines in the whole run (all shards)
  int schedules = 24;      // schedules per pipeline: 1 beam search + (schedules - 1) randomised
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
  std::string target;    // "" = host_target()
  bool quiet = false;    // no progress on stderr
  int max_samples = -1;  // stop after this many new samples (-1: run to the end)
};

struct GenerateSummary {
  std::string shard_path;
  int samples_before = 0;    // already in the shard (resume)
  int samples_measured = 0;  // measured by this call
  int samples_ok = 0;        // of those, timed successfully
  int samples_total = 0;     // the shard's full size (its pipelines x schedules)
  double seconds = 0;
};

// The shard's file name: "shard-00003-of-00008.tpshard".
std::string shard_file_name(int shard, int shards);

// The settings recorded in the shard header; a resumed shard must match them.
Json generation_config(const GenerateOptions& options);

// The schedule settings of sample k of a pipeline (k = 0: beam search 32, no dropout).
SampleSpec sample_spec(const GenerateOptions& options, int pipeline, int sample);

// Checks the options (throws Error with a clear message), then generates or resumes the shard.
GenerateSummary generate_shard(const GenerateOptions& options);

// MPI entry point: one shard per rank (shard = rank, shards = size); rank 0 prints a summary.
// Returns false if tensorplan was built without MPI.
bool mpi_available();
GenerateSummary generate_shard_mpi(GenerateOptions options, int* argc, char*** argv);

}  // namespace tensorplan::perf
