// Timing the schedules of one pipeline against each other (dataset v2). Timing each schedule in
// one go (v1) lets drift of the machine between two schedules' turns reorder them; here every
// schedule is timed once per round, in a fresh shuffled order each round, so drift hits all of
// them alike and cancels in the median over rounds.
//
// Per round, a schedule's figure is the minimum per-run time over a few short batches (noise only
// ever adds time; short batches are rarely preempted); its label is the median of its round
// figures (robust to a round that was disturbed throughout).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "tensorplan/common/json.h"

namespace tensorplan::perf {

struct InterleavedOptions {
  int rounds = 9;                 // each round times every schedule once (at least 7 for v2)
  int batches_per_round = 3;      // per round the minimum over this many batches...
  double batch_seconds = 0.002;   // ...each repeating the run to last about this long (>= 1 run)
  double slow_run_seconds = 0.1;  // runs at least this long get one batch (of one run) per round
};

struct InterleavedTiming {
  // Indexed by schedule, as the runs were given.
  std::vector<std::vector<double>> rounds;  // [schedule][round]: seconds per run, min over batches
  std::vector<std::vector<std::vector<double>>> batches;  // [schedule][round][batch] per-run secs
  std::vector<double> label;                              // median over rounds of `rounds`
  std::vector<double> first;                              // the warm-up run
  std::vector<int> runs_per_batch;
  std::vector<int> batches_per_round;
  std::vector<std::vector<int>> order;  // [round]: the schedules in the order they were timed
  double seconds = 0;                   // wall time of the whole timing
};

// The median (mean of the middle two for an even count); 0 for none.
double median_of(std::vector<double> values);

// The figures as a message from the timing process (type "timing": rounds, labels, warm-ups,
// batch sizes, orders, wall time; not every batch), and back.
Json timing_message(const InterleavedTiming& t);
InterleavedTiming timing_from_message(const Json& m);

// Warms up every run twice (the first also sizes its batches), then times `options.rounds` rounds.
// Each run must do the same work every call. The order of every round is a shuffle drawn from
// `seed`, so the same seed gives the same orders.
InterleavedTiming time_interleaved(const std::vector<std::function<void()>>& runs,
                                   const InterleavedOptions& options, std::uint64_t seed);

}  // namespace tensorplan::perf
