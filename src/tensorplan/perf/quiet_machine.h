// Is the machine quiet enough to time on? Timing needs the machine to itself: other processes
// preempt the timed code and, on another core, share its caches and memory bandwidth. This module
// reads the kernel's view (/proc/loadavg, /proc/stat), waits until the machine is quiet before a
// pipeline is timed, and measures whether it stayed quiet while it was timed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tensorplan/common/json.h"

namespace tensorplan::perf {

// Cumulative CPU time per CPU, in clock ticks, from /proc/stat.
struct CpuTimes {
  std::vector<std::uint64_t> busy;   // user + nice + system + irq + softirq + steal
  std::vector<std::uint64_t> total;  // busy + idle + iowait
  int procs_running = 0;             // runnable tasks right now (this one included)
};
CpuTimes read_cpu_times(const std::string& proc_stat = "/proc/stat");

// The 1-, 5- and 15-minute load averages.
struct LoadAverage {
  double one = 0, five = 0, fifteen = 0;
};
LoadAverage read_load_average(const std::string& proc_loadavg = "/proc/loadavg");

// Busy fraction between two readings of every CPU except `excluded` (-1: all CPUs); 0 if no time
// passed.
double busy_fraction(const CpuTimes& before, const CpuTimes& after, int excluded);

struct QuietOptions {
  bool enabled = true;          // false: never wait, never re-time (tests; conditions still kept)
  double max_load = 1.5;        // 1-minute load average at most this before timing starts
  double max_other_busy = 0.1;  // the other CPUs busy at most this fraction (before and during)
  double window_seconds = 2;    // how long the other CPUs are watched before timing starts
  double max_wait_seconds = 0;  // give up waiting after this long (0: wait as long as it takes)
  // The reference work (reference_seconds) timed just before and after a pipeline may be at most
  // this fraction slower than its median over the last `reference_window_seconds` of the run
  // (ReferenceHistory::baseline); else the timing is redone. Accepted figures of one steady spell
  // lie within about 3% of their median, so 10% passes them at once (5% over the fastest figure
  // took 10 attempts a pipeline) and still refuses the slow spells that made the gate necessary
  // (1.4x).
  double max_reference_slowdown = 0.10;
  double reference_window_seconds = 1800;
  double slow_retry_seconds = 30;  // how long to wait before timing again on a slow machine
  // After this many slow timings in a row (about 7 minutes) the machine's present speed becomes
  // its best (it moved to a slower host, say): the dataset notes the change and goes on.
  int max_slow_attempts = 10;
};

// What the machine was like around one timing.
struct MachineConditions {
  LoadAverage load_before, load_after;
  double other_busy_before = 0;            // over the last quiet window before timing
  double other_busy_during = 0;            // over the timing itself
  double waited_seconds = 0;               // waiting for the machine to be quiet
  bool quiet = false;                      // the gate was met before and during
  std::int64_t involuntary_switches = -1;  // the timing process was preempted this often
  int timing_cpu = -1;                     // the CPU the timing process was pinned to
  int attempt = 1;                         // 1 + timings of this pipeline discarded under load
  // The reference work's seconds just before and just after the timing (in the timing process,
  // on its CPU), and the baseline it was held to (ReferenceHistory::baseline; 0: not measured).
  // Shards written before the median baseline hold `reference_best` (the fastest recent figure).
  double reference_before = 0, reference_after = 0, reference_baseline = 0;
  bool reference_reset = false;  // the machine stayed slow: its present speed became the baseline
  // The processor that timed (cpu_identity()). The dataset is made over many runs, and the machine
  // under a run may change from one to the next; empty in shards written before it was recorded.
  std::string cpu;
};
Json conditions_to_json(const MachineConditions& c);

// Waits (sleeping, polling /proc every window) until the load average and the other CPUs' busy
// fraction are under the limits, or max_wait_seconds pass. Fills load_before, other_busy_before,
// waited_seconds; returns whether the machine is quiet. `report` is told why it waits (for
// progress), at most once a minute.
bool wait_until_quiet(const QuietOptions& options, int timing_cpu, MachineConditions* conditions,
                      const std::function<void(const std::string&)>& report);

// The CPU timing is pinned to: the last one the process may run on.
int timing_cpu();
// Keeps the calling process on `cpu` from now on (nothing when cpu < 0).
void pin_to_cpu(int cpu);

// How fast the machine runs a fixed piece of work right now, in seconds (lower is faster): the
// minimum over `repeats` runs of arithmetic on a cache-resident buffer plus a pass over freshly
// allocated memory, about 10 ms each. A machine slowed where /proc cannot see it (a busy host
// under this virtual machine, memory paged in lazily after a restore, a lower clock) shows here:
// a pipeline timed 1.4x slower throughout than its re-timing minutes later, on a machine that
// /proc called quiet, is what made it necessary.
double reference_seconds(int repeats = 5);

// The reference work's figures over a run (all shards of its directory), to judge whether the
// machine is now as fast as it lately was. The machine's speed here drifts by 10-20 % over hours
// (the reference took 13.3 ms at one time, 14.4-15.4 ms an hour later, both on a quiet machine):
// the baseline is the median figure of a recent window, so that a slow spell of minutes is
// caught and a drift of hours is followed; with none in the window, the median since the last
// reset. (The fastest figure was the baseline first: one lucky figure then refused the ordinary
// ones for half an hour.)
class ReferenceHistory {
 public:
  void add(double at, double seconds);  // at: Unix time
  // Forgets every figure from before `at` (a machine that stayed slow: it is the new normal).
  void reset(double at);
  // The median figure within `window_seconds` before `now`, else the median since the last
  // reset; 0 if there is none.
  double baseline(double now, double window_seconds) const;

 private:
  std::vector<std::pair<double, double>> seen_;  // (at, seconds)
  double reset_at_ = 0;
};

}  // namespace tensorplan::perf
