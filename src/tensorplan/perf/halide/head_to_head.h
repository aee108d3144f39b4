// Timing compiled schedules against each other in one process, interleaved in rounds, as dataset
// v2 times its labels: perf tune's verdict on the beam search's schedule against its picks. Timed
// in separate processes, two schedules' figures differ by the machine's drift between them (10-20 %
// within minutes on this machine, docs/perf-dataset.md), which no within-process noise figure
// shows; timed in the same rounds, the drift hits both alike.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tensorplan/common/json.h"
#include "tensorplan/perf/halide/interleaved_timer.h"

namespace tensorplan::perf {

// A schedule compiled ahead of time, with the arguments it was timed on (SampleSpec::object_path
// with time_it: SampleResult::bound_arguments).
struct CompiledSchedule {
  std::string object_path;
  std::string function_name;
  Json bound_arguments;
};

// Links the objects with one Halide runtime for `target` into a library in `work_dir`, then times
// every schedule on its own arguments, interleaved in rounds (time_interleaved), in one child
// process with HL_NUM_THREADS = `threads`. Throws Error with the reason when the runtime or the
// link fails, or the child fails (a crash, a Halide error, no result within `limit_seconds`, out
// of memory under `memory_cap_bytes`).
InterleavedTiming time_head_to_head(const std::vector<CompiledSchedule>& schedules,
                                    const std::string& target, int threads,
                                    const InterleavedOptions& options, std::uint64_t seed,
                                    const std::string& work_dir, double limit_seconds,
                                    unsigned long long memory_cap_bytes);

}  // namespace tensorplan::perf
