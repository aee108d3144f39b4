// Timing a compiled Halide pipeline: warm up, then time batches of runs until the minimum is
// stable or the time budget is spent. The minimum over batches is the figure the dataset uses:
// noise on a shared machine only ever adds time.
#pragma once

#include <functional>

namespace tensorplan::perf {

// Batches are short on purpose: on a loaded machine (more runnable processes than cores) a batch
// longer than the scheduler's time slice is almost always preempted, and its per-run time then
// includes other processes' work. Measured here under load 5 on 2 cores: 10 ms batches gave a
// minimum of 0.035-0.042 ms for a schedule whose 1 ms batches gave 0.0187-0.0190 ms.
struct TimingOptions {
  double batch_seconds = 0.001;  // each batch repeats the run to last about this long
  double budget_seconds = 0.5;   // stop after this much timing (once min_batches are done)
  int min_batches = 5;
  int max_batches = 60;
  int stable_batches = 10;         // stop early once this many batches in a row did not lower the
  double stable_tolerance = 0.01;  // minimum by more than this fraction
};

struct Timing {
  double min_seconds = 0;     // fastest batch, per run
  double median_seconds = 0;  // median batch, per run
  double max_seconds = 0;     // slowest batch, per run
  double first_seconds = 0;   // the warm-up run (first touch of memory, thread pool start)
  int batches = 0;
  int runs_per_batch = 0;
};

// Calls `run` once to warm up, then in timed batches. `run` must do the same work every time.
Timing time_runs(const std::function<void()>& run, const TimingOptions& options);

}  // namespace tensorplan::perf
